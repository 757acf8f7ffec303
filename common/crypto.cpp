#include "common/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace wi::crypto {
namespace {

// OpenSSL failing here means the library is unusable (missing provider, OOM, no entropy).
// Returning a bogus digest would be a security bug, so stop loudly instead (see crypto.h).
[[noreturn]] void fatal(const char* what) {
  char reason[256] = "unknown error";
  if (unsigned long err = ERR_get_error(); err != 0) {
    ERR_error_string_n(err, reason, sizeof reason);
  }
  std::fprintf(stderr, "wi::crypto: %s failed: %s\n", what, reason);
  std::abort();
}

struct AlgoInfo {
  const char* name;  // OpenSSL digest name for fetching
  std::size_t size;
};

const AlgoInfo& info(DigestAlgo algo) {
  static constexpr AlgoInfo kSha256Info{"SHA2-256", 32};
  static constexpr AlgoInfo kSha512Info{"SHA2-512", 64};
  switch (algo) {
    case DigestAlgo::kSha256: return kSha256Info;
    case DigestAlgo::kSha512: return kSha512Info;
  }
  fatal("unknown DigestAlgo");
}

// Fetching by name takes the provider store lock and a property query; do it once per process.
// Deliberately never freed: OPENSSL_cleanup at exit tears the providers down anyway.
EVP_MAC* hmac_method() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (mac == nullptr) fatal("EVP_MAC_fetch(HMAC)");
  return mac;
}

const EVP_MD* sha256_method() {
  static const EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  if (md == nullptr) fatal("EVP_MD_fetch(SHA2-256)");
  return md;
}

struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }
};
using MacCtxPtr = std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter>;

// One HMAC context per thread and digest, with the digest already bound. Setting the digest
// parameter re-fetches the EVP_MD inside the provider on every call, which costs more than
// hashing a typical webhook body; re-keying a bound context with EVP_MAC_init does not.
// Thread-local, so no locking; freed at thread exit (before OpenSSL's own atexit cleanup).
EVP_MAC_CTX* thread_hmac_ctx(DigestAlgo algo) {
  thread_local MacCtxPtr ctxs[2];
  MacCtxPtr& slot = ctxs[algo == DigestAlgo::kSha256 ? 0 : 1];
  if (!slot) {
    MacCtxPtr ctx(EVP_MAC_CTX_new(hmac_method()));
    if (!ctx) fatal("EVP_MAC_CTX_new");
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                         const_cast<char*>(info(algo).name), 0),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_MAC_CTX_set_params(ctx.get(), params) != 1) fatal("EVP_MAC_CTX_set_params");
    slot = std::move(ctx);
  }
  return slot.get();
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::size_t digest_size(DigestAlgo algo) { return info(algo).size; }

std::string hmac(DigestAlgo algo, std::string_view key, std::string_view data) {
  EVP_MAC_CTX* ctx = thread_hmac_ctx(algo);
  // A NULL key makes EVP_MAC_init keep the previous key of this reused context, which would
  // sign with another caller's secret. An empty key must still be passed as a real pointer.
  static constexpr unsigned char kEmptyKey = 0;
  const unsigned char* key_ptr = key.empty() ? &kEmptyKey : bytes(key);
  if (EVP_MAC_init(ctx, key_ptr, key.size(), nullptr) != 1) fatal("EVP_MAC_init");
  if (!data.empty() && EVP_MAC_update(ctx, bytes(data), data.size()) != 1) {
    fatal("EVP_MAC_update");
  }
  std::string out(info(algo).size, '\0');
  std::size_t out_len = 0;
  if (EVP_MAC_final(ctx, reinterpret_cast<unsigned char*>(out.data()), &out_len, out.size()) != 1 ||
      out_len != out.size()) {
    fatal("EVP_MAC_final");
  }
  return out;
}

std::string sha256(std::string_view data) {
  std::string out(32, '\0');
  unsigned int out_len = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &out_len,
                 sha256_method(), nullptr) != 1 ||
      out_len != out.size()) {
    fatal("EVP_Digest(SHA2-256)");
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  // RAND_bytes takes an int length; chunk so absurd sizes cannot overflow it.
  while (n > 0) {
    const int chunk = n > static_cast<std::size_t>(INT_MAX) ? INT_MAX : static_cast<int>(n);
    if (RAND_bytes(p, chunk) != 1) fatal("RAND_bytes");
    p += chunk;
    n -= static_cast<std::size_t>(chunk);
  }
  return out;
}

}  // namespace wi::crypto
