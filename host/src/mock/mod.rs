//! TEMPORARY STUB (replaced by the real mock)
pub const MOCK_API_KEY: &str = "pleo-mock-key";
#[derive(Clone, Debug)]
pub struct MockConfig {
    pub seed: u64,
    pub api_key: String,
    pub scopes: Vec<String>,
    pub employees: usize,
}
impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            seed: 1,
            api_key: MOCK_API_KEY.into(),
            scopes: vec![],
            employees: 50,
        }
    }
}
pub struct MockServer {
    addr: std::net::SocketAddr,
}
impl MockServer {
    pub async fn start(
        bind: std::net::SocketAddr,
        _cfg: MockConfig,
    ) -> std::io::Result<MockServer> {
        Ok(MockServer { addr: bind })
    }
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub async fn shutdown(self) {}
}
