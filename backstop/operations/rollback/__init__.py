"""`backstop drill rollback`: the application slot-swap rollback, drilled on staging, always swapped back."""
