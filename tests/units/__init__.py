"""Per-unit test data: named mutants (common mistakes), correct alternatives, tamper attacks."""
