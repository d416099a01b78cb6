"""Google Admin and the fleet: Google's facts about Chrome devices applied to the inventory (fleet), read from a
ChromeOsDevice record (facts), placed by the org-unit mapping (placement), and the CSV import over them
(admin_csv)."""
