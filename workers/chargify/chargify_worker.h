#pragma once
// chargify-worker's wiring: the one place where the real adapters (curl SMTP, the clock) are
// built and handed to the ChargifyHandler. main() is one run_worker() call.

#include "workers/runtime/worker_app.h"

namespace wi::chargify {

worker::WorkerDescription chargify_worker_description();

}  // namespace wi::chargify
