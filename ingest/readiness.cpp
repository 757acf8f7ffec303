#include "ingest/readiness.h"

#include "common/log.h"
#include "common/thread_name.h"

namespace wi::ingest {

ProbedReadiness::ProbedReadiness(Probe probe) : probe_(std::move(probe)), ready_(probe_()) {}

void ProbedReadiness::refresh() {
  bool now_ready = probe_();
  if (now_ready == ready_.exchange(now_ready)) return;
  auto log = log::get("ingestd");
  if (now_ready) {
    log->info("kafka reachable: ready");
  } else {
    log->warn("kafka unreachable: not ready (requests get 503 until it returns)");
  }
}

ReadinessRefresher::ReadinessRefresher(ProbedReadiness& readiness,
                                       std::chrono::milliseconds interval)
    : readiness_(readiness), interval_(interval), thread_([this] {
        name_this_thread("readiness");
        loop();
      }) {}

ReadinessRefresher::~ReadinessRefresher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ReadinessRefresher::loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    readiness_.refresh();
    lock.lock();
    cv_.wait_for(lock, interval_, [this] { return stop_; });
  }
}

}  // namespace wi::ingest
