// dropbox-worker: from "this account changed" to the account's file changes (SPEC §5).
#include "workers/dropbox/dropbox_worker.h"

int main(int argc, char** argv) {
  return wi::worker::run_worker(argc, argv, wi::dropbox::dropbox_worker_description());
}
