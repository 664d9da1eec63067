// Tests: to be written.
