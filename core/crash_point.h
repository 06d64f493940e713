#pragma once

// Test-only crash points: named places in the code where a fault test can
// make the process die, as if the power failed there, to check that
// nothing is lost or done twice whatever the instruction a crash comes at
// (tests/integration/crash_point_test.cc).
//
// Two environment variables, read once:
//   RELAIS_CRASH_POINT="name" or "name@k": the k-th passage (default: the
//     first) through CrashPoint("name") sends SIGKILL to the process.
//   RELAIS_CRASH_TRACE=path: every passage appends "name@k\n" to `path`
//     (O_APPEND, one write each), so that a test can list the points a run
//     goes through.
// Without them a passage costs one relaxed atomic load. Production never
// sets them.
//
// Thread-safety: CrashPoint may be called from any thread; passages are
// counted per name across threads.

namespace relais {

void CrashPoint(const char* name);

}  // namespace relais
