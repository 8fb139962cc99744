"""Word lists for the demo data. Fictional on purpose: e-mail domains use the reserved
``.example`` TLD and phone numbers sit in ranges set aside for fiction (555-01xx in
North America, 020 7946 0xxx in London)."""

from __future__ import annotations

from decimal import Decimal

COMPANY_WORDS = [
    "Northwind", "Bluebird", "Granite", "Harbor", "Juniper", "Copperleaf", "Silverline",
    "Maple", "Orchid", "Redwood", "Summit", "Tidewater", "Evergreen", "Lighthouse",
    "Ironbridge", "Foxglove", "Kestrel", "Meadow", "Pinecrest", "Quarry", "Saffron", "Alder",
]
COMPANY_TRADES = [
    "Analytics", "Bakery", "Studios", "Logistics", "Dental", "Architects", "Coffee",
    "Fitness", "Labs", "Media", "Outfitters", "Robotics", "Wellness", "Ventures", "Foods",
    "Consulting", "Brewing", "Legal", "Clinic", "Travel",
]
FIRST_NAMES = [
    "Maria", "James", "Aisha", "Tom", "Priya", "Lucas", "Chloe", "Daniel", "Sofia", "Omar",
    "Emma", "Noah", "Hannah", "Kenji", "Fatima", "Liam", "Zoe", "Mateo", "Grace", "Ravi",
]
LAST_NAMES = [
    "Lopez", "Okafor", "Nguyen", "Smith", "Patel", "Müller", "Dubois", "Rossi", "Kowalski",
    "O'Brien", "Haddad", "Tanaka", "Jensen", "Costa", "Walsh", "Ibrahim", "Fischer", "Moreau",
]

#: country → (company suffixes, phone format with {n} = 0..99)
COUNTRY_STYLE = {
    "US": (["LLC", "Inc.", "Co."], "+1 512-555-01{n:02d}"),
    "GB": (["Ltd", "LLP", "Ltd"], "+44 20 7946 0{n:03d}"),
    "IE": (["Ltd", "DAC"], "+353 1 555 0{n:03d}"),
    "DE": (["GmbH", "AG"], "+49 30 5550 {n:04d}"),
    "FR": (["SARL", "SAS"], "+33 1 55 50 {n:04d}"),
    "NL": (["BV", "NV"], "+31 20 555 {n:04d}"),
}

#: (city, region, postal code, country)
CITIES = {
    "US": [
        ("Austin", "TX", "78701"), ("Denver", "CO", "80202"), ("Portland", "OR", "97204"),
        ("Chicago", "IL", "60601"), ("Boston", "MA", "02108"), ("Seattle", "WA", "98101"),
        ("Atlanta", "GA", "30303"), ("San Diego", "CA", "92101"),
        ("Nashville", "TN", "37203"), ("Minneapolis", "MN", "55401"),
    ],
    "GB": [
        ("London", "Greater London", "EC1A 1BB"), ("Manchester", "Greater Manchester", "M1 1AE"),
        ("Bristol", "Bristol", "BS1 4DJ"), ("Leeds", "West Yorkshire", "LS1 4AP"),
        ("Edinburgh", "Midlothian", "EH1 1YZ"), ("Cardiff", "South Glamorgan", "CF10 1EP"),
        ("Brighton", "East Sussex", "BN1 1AE"),
    ],
    "IE": [("Dublin", "Dublin", "D02 X285"), ("Cork", "Cork", "T12 RW26")],
    "DE": [("Berlin", "Berlin", "10115"), ("Munich", "Bavaria", "80331")],
    "FR": [("Paris", "Île-de-France", "75001"), ("Lyon", "Auvergne-Rhône-Alpes", "69001")],
    "NL": [("Amsterdam", "North Holland", "1012 JS"), ("Utrecht", "Utrecht", "3511 AA")],
}
STREETS = ["Market St", "High Street", "Mill Lane", "Station Road", "Oak Avenue",
           "Harbour Way", "King Street", "Elm Street", "Church Road", "Bridge Street"]

#: category → (descriptions, (low, high) unit price in USD, quantity is hours?)
CATEGORY_WORK = {
    "design": (["Logo design", "Brand guidelines", "Landing page mockups", "UI design sprint",
                "Illustrations"], (85, 140), True),
    "development": (["Backend development", "Frontend development", "API integration",
                     "Bug fixes and maintenance", "Performance tuning"], (95, 175), True),
    "consulting": (["Strategy workshop", "Technical audit", "Project management",
                    "Architecture review"], (120, 250), True),
    "hosting": (["Managed hosting (monthly)", "CDN and backups (monthly)",
                 "SSL certificate renewal", "Staging environment (monthly)"], (29, 399), False),
    "support": (["Support retainer", "Priority support hours", "On-call cover"],
                (60, 120), True),
}

#: Rough prices per currency, relative to USD, so GBP and EUR invoices look plausible.
PRICE_FACTOR = {"USD": Decimal("1"), "GBP": Decimal("0.80"), "EUR": Decimal("0.92")}

TASK_TITLES = [
    "Website redesign", "SEO audit", "Mobile app MVP", "Checkout performance fixes",
    "Brand refresh", "Data migration", "Monthly maintenance", "Accessibility review",
    "Analytics dashboard", "Onboarding flow", "Newsletter templates", "Security review",
]
MEMOS = ["Thank you for your business.", "", "", "Payment due within terms.", "PO {n}"]
