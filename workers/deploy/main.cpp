// deploy-worker: the agent on each server that deploys GitHub pushes (SPEC §5).
#include "workers/deploy/deploy_worker.h"

int main(int argc, char** argv) {
  return wi::worker::run_worker(
      argc, argv, wi::deploy::deploy_worker_description(wi::config::Environment::from_process()));
}
