"""Clients of systems Rollcall does not own (Google's Directory API, …): thin, typed, one module each."""
