// libFuzzer harness for the YAML config loader with ingestd's settings (common/config.cpp,
// ingest/ingest_config.cpp): any document either loads or is refused with ConfigError
// listing its problems; nothing else escapes, nothing crashes.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/config.h"
#include "ingest/ingest_config.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto loader = wi::config::Loader::from_yaml_text(yaml, wi::config::Environment{});
  try {
    auto config = wi::ingest::load_ingest_config(loader);
    for (const char* section : {"worker", "dropbox", "chargify", "deploy"}) loader.ignore({section});
    loader.finish();
    FUZZ_CHECK(config.threads > 0);
  } catch (const wi::config::ConfigError& e) {
    FUZZ_CHECK(!e.problems().empty());
  }
  return 0;
}
