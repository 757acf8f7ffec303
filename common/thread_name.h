#pragma once
// Names for our own threads. A thread otherwise keeps the process's name, so `top -H`, perf
// and /proc/<pid>/task/<tid>/comm (tests/bench/cpu_breakdown.sh groups CPU by it) cannot tell
// the delivery-report thread from the HTTP sweeper or the main thread.

#include <string_view>

namespace wi {

// Names the calling thread. Linux keeps 15 bytes: a longer name is cut there. Best effort: a
// failure changes nothing else, so it is not reported.
void name_this_thread(std::string_view name);

}  // namespace wi
