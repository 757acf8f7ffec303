#pragma once
// dropbox-worker's wiring: the one place where the real adapters (curl, the tokens file,
// SIGHUP) are built and handed to the handler. main() is one run_worker() call.

#include "workers/runtime/worker_app.h"

namespace wi::dropbox {

worker::WorkerDescription dropbox_worker_description();

}  // namespace wi::dropbox
