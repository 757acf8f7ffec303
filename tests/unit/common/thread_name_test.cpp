#include "common/thread_name.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <string>
#include <thread>

namespace wi {
namespace {

// Names a fresh thread (the test runner's own thread keeps its name) and reads the name back.
std::string name_seen_after(std::string_view name) {
  std::string seen;
  std::thread([&] {
    name_this_thread(name);
    char buffer[32] = {};
    ::pthread_getname_np(::pthread_self(), buffer, sizeof buffer);
    seen = buffer;
  }).join();
  return seen;
}

TEST(ThreadName, NamesTheCallingThread) {
  EXPECT_EQ(name_seen_after("kafka:reports"), "kafka:reports");
}

TEST(ThreadName, CutsANameLongerThanTheKernelKeeps) {
  EXPECT_EQ(name_seen_after("a-name-of-twenty-chars"), "a-name-of-twent");
}

}  // namespace
}  // namespace wi
