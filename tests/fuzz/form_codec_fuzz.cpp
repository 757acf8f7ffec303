// libFuzzer harness for the text codecs behind the Chargify form decoder ingestd uses
// (codec::parse_form, percent_decode) and the signature encodings (hex, base64): no crash,
// decoders never grow their input, and whatever decodes re-encodes to an equivalent text.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/codec.h"
#include "tests/fuzz/fuzz_check.h"

namespace codec = wi::codec;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto form = codec::parse_form(input);
  if (form) {
    std::size_t decoded = 0;
    for (const auto& [name, value] : *form) decoded += name.size() + value.size();
    FUZZ_CHECK(decoded <= input.size());
  } else {
    // The error names a field index, never the content (which may be secret).
    FUZZ_CHECK(form.error().message.find('%') == std::string::npos || input.find('%') != std::string::npos);
  }

  for (bool plus : {false, true}) {
    auto text = codec::percent_decode(input, plus);
    if (text) FUZZ_CHECK(text->size() <= input.size());
  }

  if (auto bytes = codec::hex_decode(input)) {
    FUZZ_CHECK(bytes->size() * 2 == input.size());
    FUZZ_CHECK(codec::hex_decode(codec::hex_encode(*bytes)) == bytes);
  }
  if (auto bytes = codec::base64_decode(input)) {
    FUZZ_CHECK(bytes->size() <= input.size());
    FUZZ_CHECK(codec::base64_decode(codec::base64_encode(*bytes)) == bytes);
  }
  return 0;
}
