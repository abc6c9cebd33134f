"""The columns of timeseries.csv (design §8), shared by the schema and the recorder."""

# Output columns of timeseries.csv, in order (design §8), after step and region.
COLUMNS = (
    "sales",
    "open_sales",
    "closed_sales",
    "price",
    "active_dealers",
    "open_dealers",
    "closed_dealers",
    "user_dealers",
    "users",
    "dependent_users",
    "new_users",
    "violent_incidents",
    "homicides",
    "acquisitive_crimes",
    "overdoses",
    "overdose_deaths",
    "public_use",
    "litter",
    "visible_dealing",
    "fear",
    "arrests",
    "prosecutions",
    "prison_days",
    "seizures",
    "test_purchases",
    "diversions",
    "users_in_treatment",
    "treatment_waiting",
    "treatment_entries",
    "treatment_dropouts",
    "missed_appointments",
    "police_officer_days",
    "unmet_demand",
    "net_harm",
)

# The regions every run records (design §8); scenarios may add watched areas.
REGIONS = ("all", "target", "buffer", "control")
