// chargify-worker: e-mails each new Chargify subscriber the product they bought (SPEC §5).
#include "workers/chargify/chargify_worker.h"

int main(int argc, char** argv) {
  return wi::worker::run_worker(argc, argv, wi::chargify::chargify_worker_description());
}
