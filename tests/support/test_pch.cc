// The one source of relais_test_pch_holder, the target that builds the
// tests' shared precompiled header (tests/support/test_pch.h).
