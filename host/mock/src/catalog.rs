//! Static tables the seeded dataset draws from: names, teams, the chart of
//! accounts, tax codes, tag groups and vendors of a Danish company.

/// A company the seed can pick; the address is a plausible Copenhagen/Aarhus one.
pub(super) struct CompanySpec {
    pub name: &'static str,
    pub domain: &'static str,
    pub line1: &'static str,
    pub line2: Option<&'static str>,
    pub locality: &'static str,
    pub postal_code: &'static str,
    pub region: &'static str,
}

pub(super) const COMPANIES: &[CompanySpec] = &[
    CompanySpec {
        name: "Nordlys Design ApS",
        domain: "nordlysdesign.dk",
        line1: "Vesterbrogade 112",
        line2: Some("3. sal"),
        locality: "København V",
        postal_code: "1620",
        region: "Region Hovedstaden",
    },
    CompanySpec {
        name: "Havnefront Software A/S",
        domain: "havnefront.io",
        line1: "Islands Brygge 43",
        line2: None,
        locality: "København S",
        postal_code: "2300",
        region: "Region Hovedstaden",
    },
    CompanySpec {
        name: "Kattegat Logistics ApS",
        domain: "kattegatlogistics.dk",
        line1: "Åboulevarden 70",
        line2: Some("2. tv."),
        locality: "Aarhus C",
        postal_code: "8000",
        region: "Region Midtjylland",
    },
];

/// Further companies of a multi-entity organization (company 1, 2, ...); none shares
/// a name or domain with [`COMPANIES`], which company 0 is drawn from.
pub(super) const SUBSIDIARIES: &[CompanySpec] = &[
    CompanySpec {
        name: "Limfjord Consulting ApS",
        domain: "limfjordconsulting.dk",
        line1: "Boulevarden 13",
        line2: Some("1. sal"),
        locality: "Aalborg",
        postal_code: "9000",
        region: "Region Nordjylland",
    },
    CompanySpec {
        name: "Odense Byg & Anlæg A/S",
        domain: "odensebyg.dk",
        line1: "Vestergade 58",
        line2: None,
        locality: "Odense C",
        postal_code: "5000",
        region: "Region Syddanmark",
    },
    CompanySpec {
        name: "Roskilde Fødevarer ApS",
        domain: "roskildefoedevarer.dk",
        line1: "Algade 21",
        line2: Some("st."),
        locality: "Roskilde",
        postal_code: "4000",
        region: "Region Sjælland",
    },
    CompanySpec {
        name: "Vadehavet Energi A/S",
        domain: "vadehavetenergi.dk",
        line1: "Torvegade 74",
        line2: None,
        locality: "Esbjerg",
        postal_code: "6700",
        region: "Region Syddanmark",
    },
];

/// Two names are hostile: text typed into Pleo ends up in the plugins' CSV files, which must
/// not turn it into spreadsheet formulas (CSV injection). Present in the e2e tests' seeds.
#[rustfmt::skip]
pub(super) const FIRST_NAMES: &[&str] = &[
    "Anders", "Anna", "Mette", "Lars", "Sofie", "Mikkel", "Camilla", "Jonas", "Ida", "Frederik",
    "Louise", "Rasmus", "Emma", "Christian", "Maria", "Mads", "Julie", "Søren", "Freja", "Henrik",
    "Line", "@SUM(1+1)*cmd|' /C calc'!A0", "Katrine", "Peter", "Signe", "Oliver", "Astrid",
    "Jakob", "Nanna", "Emil",
    "Sara", "Magnus", "Cecilie", "Erik", "Johanne", "Nikolaj", "Karoline", "Martin", "Helle", "Simon",
    "Priya", "Lukas", "Elena", "Tomás", "Ingrid", "David", "Aisha", "Marco", "Linnea",
    r#"=HYPERLINK("http://evil.example","refund")"#,
];

#[rustfmt::skip]
pub(super) const LAST_NAMES: &[&str] = &[
    "Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
    "Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen", "Christiansen",
    "Poulsen", "Johansen", "Møller", "Mortensen", "Lindqvist", "Berg", "Holm", "Dahl",
    "Schmidt", "Eriksson", "Novak", "Fischer", "Rossi", "Kowalski", "Sharma", "Haugen",
    "Lund", "Bach", "Vestergaard",
];

/// Teams with the job titles found in them and how much their people spend.
pub(super) struct TeamSpec {
    pub name: &'static str,
    pub titles: &'static [&'static str],
    /// Relative share of employees.
    pub headcount: u32,
    /// Spend multiplier (sales travel more than engineers).
    pub activity: f64,
}

pub(super) const TEAMS: &[TeamSpec] = &[
    TeamSpec {
        name: "Management",
        titles: &["Chief Executive Officer", "Chief Operating Officer"],
        headcount: 1,
        activity: 2.0,
    },
    TeamSpec {
        name: "Engineering",
        titles: &[
            "Software Engineer",
            "Senior Software Engineer",
            "Engineering Manager",
            "DevOps Engineer",
            "QA Engineer",
        ],
        headcount: 9,
        activity: 0.7,
    },
    TeamSpec {
        name: "Product & Design",
        titles: &["Product Manager", "Product Designer", "UX Researcher"],
        headcount: 3,
        activity: 0.8,
    },
    TeamSpec {
        name: "Sales",
        titles: &[
            "Account Executive",
            "Sales Development Representative",
            "Key Account Manager",
            "Head of Sales",
        ],
        headcount: 6,
        activity: 2.2,
    },
    TeamSpec {
        name: "Marketing",
        titles: &[
            "Marketing Manager",
            "Content Marketer",
            "Performance Marketing Specialist",
        ],
        headcount: 3,
        activity: 1.3,
    },
    TeamSpec {
        name: "Customer Success",
        titles: &["Customer Success Manager", "Support Specialist"],
        headcount: 4,
        activity: 1.2,
    },
    TeamSpec {
        name: "Finance & Operations",
        titles: &[
            "Finance Manager",
            "Bookkeeper",
            "Office Manager",
            "People Partner",
        ],
        headcount: 3,
        activity: 0.9,
    },
];

/// Chart of accounts: (code, name).
pub(super) const ACCOUNTS: &[(&str, &str)] = &[
    ("2210", "Travel - flights & trains"),
    ("2220", "Meals & entertainment"),
    ("2230", "Software & subscriptions"),
    ("2240", "Office supplies & equipment"),
    ("2250", "Mileage allowance"),
    ("2260", "Per diem allowance"),
    ("2270", "Phone & internet"),
    ("2280", "Marketing & advertising"),
    ("2290", "Training & conferences"),
    ("2300", "Local transport & taxi"),
    ("2310", "Hotels & accommodation"),
    ("2320", "Cleaning & facilities"),
    ("2330", "Accounting & audit"),
    ("2340", "Legal fees"),
    ("2350", "Bank & payment fees"),
];

/// Tax codes: (code, name, rate).
pub(super) const TAX_CODES: &[(&str, &str, f64)] = &[
    ("DK25", "Moms 25%", 0.25),
    ("DK0", "Momsfri", 0.0),
    ("EU-RC", "EU reverse charge (services)", 0.25),
    ("WORLD-RC", "Non-EU reverse charge (services)", 0.25),
    ("FOREIGN", "Foreign VAT, not deductible", 0.0),
];

/// Tag groups: (code, name, tags as (code, name)).
pub(super) type TagGroupSpec = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

pub(super) const TAG_GROUPS: &[TagGroupSpec] = &[
    (
        "CC",
        "Cost center",
        &[
            ("CC100", "Copenhagen HQ"),
            ("CC200", "Aarhus office"),
            ("CC300", "Stockholm office"),
        ],
    ),
    (
        "PRJ",
        "Project",
        &[
            ("P-WEB", "Website relaunch"),
            ("P-NORDIC", "Nordic expansion"),
            ("P-ONB", "Customer onboarding"),
            ("P-MIG", "Platform migration"),
            ("P-KICK", "Annual kickoff"),
        ],
    ),
];

/// How an entry with this vendor comes about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum VendorKind {
    /// Card purchase in a shop, restaurant or taxi; also paid out of pocket.
    InStore,
    /// Card purchase online.
    Online,
    /// Monthly card charge by the finance team.
    Subscription,
    /// Supplier invoice paid from the wallet, no employee.
    Bill,
    /// Pleo's own monthly fee.
    Pleo,
}

pub(super) struct VendorSpec {
    pub name: &'static str,
    pub country: &'static str,
    pub currency: &'static str,
    /// Account code (see [`ACCOUNTS`]).
    pub account: &'static str,
    /// Tax code (see [`TAX_CODES`]).
    pub tax: &'static str,
    /// Typical amount range in major units of `currency`.
    pub min: i64,
    pub max: i64,
    pub kind: VendorKind,
    /// Relative frequency among vendors of the same kind.
    pub weight: u32,
}

/// One row of [`VENDORS`]: name, (country, currency), (account code, tax code),
/// (min, max) amount, kind, weight.
const fn v(
    name: &'static str,
    (country, currency): (&'static str, &'static str),
    (account, tax): (&'static str, &'static str),
    (min, max): (i64, i64),
    kind: VendorKind,
    weight: u32,
) -> VendorSpec {
    VendorSpec {
        name,
        country,
        currency,
        account,
        tax,
        min,
        max,
        kind,
        weight,
    }
}

use VendorKind::{Bill, InStore, Online, Pleo, Subscription};

#[rustfmt::skip]
pub(super) const VENDORS: &[VendorSpec] = &[
    // Everyday spending in Denmark.
    v("Lagkagehuset", ("DK", "DKK"), ("2220", "DK25"), (35, 180), InStore, 30),
    v("Joe & The Juice", ("DK", "DKK"), ("2220", "DK25"), (45, 160), InStore, 25),
    // A hostile merchant name (CSV injection), as a shop's card terminal could report it.
    v(r#"=HYPERLINK("http://evil.example","Restaurant Barr")"#,
      ("DK", "DKK"), ("2220", "DK25"), (600, 3800), InStore, 6),
    v("Wolt", ("DK", "DKK"), ("2220", "DK25"), (120, 950), Online, 18),
    v("Netto", ("DK", "DKK"), ("2240", "DK25"), (80, 900), InStore, 12),
    v("Bog & Idé", ("DK", "DKK"), ("2240", "DK25"), (50, 450), InStore, 5),
    v("Elgiganten", ("DK", "DKK"), ("2240", "DK25"), (250, 7500), InStore, 4),
    v("Dantaxi", ("DK", "DKK"), ("2300", "DK0"), (110, 650), InStore, 16),
    v("DSB", ("DK", "DKK"), ("2210", "DK0"), (24, 780), Online, 14),
    v("Circle K", ("DK", "DKK"), ("2300", "DK25"), (250, 850), InStore, 5),
    v("SAS", ("DK", "DKK"), ("2210", "DK0"), (900, 6500), Online, 7),
    v("Scandic Hotels", ("DK", "DKK"), ("2310", "DK25"), (950, 2600), InStore, 6),
    v("IDA Konference", ("DK", "DKK"), ("2290", "DK25"), (1500, 6500), Online, 2),
    v("Google Ads", ("IE", "DKK"), ("2280", "EU-RC"), (500, 9000), Online, 4),
    // Travel abroad.
    v("Lufthansa", ("DE", "EUR"), ("2210", "FOREIGN"), (120, 950), Online, 4),
    v("NH Hotels", ("DE", "EUR"), ("2310", "FOREIGN"), (95, 280), InStore, 4),
    v("Uber", ("NL", "EUR"), ("2300", "FOREIGN"), (8, 65), Online, 8),
    v("Deutsche Bahn", ("DE", "EUR"), ("2210", "FOREIGN"), (29, 210), Online, 3),
    v("Café de Flore", ("FR", "EUR"), ("2220", "FOREIGN"), (12, 85), InStore, 3),
    v("SJ", ("SE", "SEK"), ("2210", "FOREIGN"), (195, 1600), Online, 4),
    v("Clarion Hotel", ("SE", "SEK"), ("2310", "FOREIGN"), (1150, 2900), InStore, 3),
    v("Espresso House", ("SE", "SEK"), ("2220", "FOREIGN"), (45, 220), InStore, 6),
    v("Premier Inn", ("GB", "GBP"), ("2310", "FOREIGN"), (70, 185), InStore, 2),
    v("Transport for London", ("GB", "GBP"), ("2300", "FOREIGN"), (3, 30), InStore, 3),
    v("Pret A Manger", ("GB", "GBP"), ("2220", "FOREIGN"), (5, 28), InStore, 3),
    v("Udemy", ("US", "USD"), ("2290", "WORLD-RC"), (15, 199), Online, 2),
    v("LinkedIn", ("IE", "USD"), ("2280", "EU-RC"), (150, 3200), Online, 2),
    // Monthly subscriptions on the finance team's card.
    v("Amazon Web Services", ("US", "USD"), ("2230", "WORLD-RC"), (180, 2400), Subscription, 1),
    v("GitHub", ("US", "USD"), ("2230", "WORLD-RC"), (84, 420), Subscription, 1),
    v("Slack", ("US", "USD"), ("2230", "WORLD-RC"), (120, 640), Subscription, 1),
    v("Figma", ("US", "USD"), ("2230", "WORLD-RC"), (45, 300), Subscription, 1),
    v("Atlassian", ("AU", "USD"), ("2230", "WORLD-RC"), (60, 480), Subscription, 1),
    v("Google Workspace", ("IE", "EUR"), ("2230", "EU-RC"), (110, 520), Subscription, 1),
    v("e-conomic", ("DK", "DKK"), ("2230", "DK25"), (349, 1199), Subscription, 1),
    v("TDC Erhverv", ("DK", "DKK"), ("2270", "DK25"), (1200, 4800), Subscription, 1),
    // Supplier invoices.
    v("Lyreco Danmark A/S", ("DK", "DKK"), ("2240", "DK25"), (1200, 9500), Bill, 4),
    v("ISS Facility Services A/S", ("DK", "DKK"), ("2320", "DK25"), (4200, 12500), Bill, 5),
    v("Revisionsfirmaet Holm & Co", ("DK", "DKK"), ("2330", "DK25"), (15000, 62000), Bill, 2),
    v("Plesner Advokatpartnerselskab", ("DK", "DKK"), ("2340", "DK25"), (8000, 45000), Bill, 1),
    v("Bureau Nord Reklame ApS", ("DK", "DKK"), ("2280", "DK25"), (18000, 85000), Bill, 2),
    v("Contentful GmbH", ("DE", "EUR"), ("2230", "EU-RC"), (400, 2100), Bill, 2),
    // Pleo's own fee.
    v("Pleo Technologies A/S", ("DK", "DKK"), ("2350", "DK25"), (2990, 4990), Pleo, 1),
    // Currencies without and with three decimals, so reports meet every ISO 4217 exponent
    // (last, and with ids from their own generator, so the other vendors and the employees
    // stay as they were before these were added).
    v("Tokyo Metro", ("JP", "JPY"), ("2300", "FOREIGN"), (180, 1200), InStore, 3),
    v("Hotel Gracery Shinjuku", ("JP", "JPY"), ("2310", "FOREIGN"), (14000, 32000), InStore, 2),
    v("Kuwait Airways", ("KW", "KWD"), ("2210", "FOREIGN"), (45, 320), Online, 2),
    v("Jumeirah Messilah Beach", ("KW", "KWD"), ("2310", "FOREIGN"), (60, 140), InStore, 2),
];

/// Indicative rates to DKK; each entry jitters them slightly.
pub(super) const FX_TO_DKK: &[(&str, f64)] = &[
    ("DKK", 1.0),
    ("EUR", 7.46),
    ("SEK", 0.655),
    ("GBP", 8.62),
    ("USD", 6.88),
    ("JPY", 0.0445),
    ("KWD", 22.4),
];

/// Decimals of the currencies in [`VENDORS`] (ISO 4217 minor unit); the mock's own table.
pub(super) fn decimals(currency: &str) -> u32 {
    match currency {
        "JPY" | "ISK" => 0,
        "KWD" | "BHD" => 3,
        _ => 2,
    }
}

/// Danish mileage rate in øre per km and per diem in øre per day.
pub(super) const MILEAGE_ORE_PER_KM: i64 = 381;
pub(super) const PER_DIEM_ORE_PER_DAY: i64 = 60_900;

pub(super) const MILEAGE_TRIPS: &[(&str, i64)] = &[
    ("Client visit Aarhus", 187),
    ("Client visit Odense", 167),
    ("Customer workshop Roskilde", 35),
    ("Trade fair Herning", 228),
    ("Site visit Aalborg", 218),
    ("Customer meeting Kolding", 224),
    ("Partner meeting Helsingør", 46),
];

pub(super) const PER_DIEM_TRIPS: &[&str] = &[
    "Conference in Berlin",
    "Customer visits in Stockholm",
    "Team offsite in Skagen",
    "Trade fair in Hamburg",
    "Sales trip to Oslo",
    "Partner summit in London",
];

/// Notes people write, by account code.
pub(super) const NOTES: &[(&str, &[&str])] = &[
    (
        "2220",
        &[
            "Client lunch",
            "Team lunch",
            "Coffee with candidate",
            "Dinner with customer",
            // Hostile (CSV injection): notes are free text.
            "+cmd|' /C calc'!A0 breakfast meeting",
        ],
    ),
    (
        "2210",
        &["Customer visit", "Conference travel", "Sales trip"],
    ),
    (
        "2300",
        &[
            "Taxi to airport",
            "Taxi to client",
            "Late meeting, taxi home",
        ],
    ),
    (
        "2310",
        &["Hotel for conference", "Hotel during customer visit"],
    ),
    (
        "2240",
        &[
            "Office supplies",
            "Kitchen supplies",
            "New keyboard",
            "Monitor cable",
        ],
    ),
    ("2290", &["Course fee", "Conference ticket"]),
    ("2280", &["Campaign spend", "Sponsored posts"]),
];
