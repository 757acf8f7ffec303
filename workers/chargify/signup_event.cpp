#include "workers/chargify/signup_event.h"

#include "common/download_token.h"

namespace wi::chargify {

Result<Signup> read_signup(const FormTree& form) {
  Signup s;
  s.webhook_id = form.value({"id"}).value_or("");
  s.subscription_id = form.value({"payload", "subscription", "id"}).value_or("");
  if (s.subscription_id.empty()) return Error::invalid("missing payload[subscription][id]");
  // It keys the ledger and goes into download tokens: an id, not free text.
  if (!token::is_claim_field(s.subscription_id)) {
    return Error::invalid("payload[subscription][id] is not an id");
  }
  s.product_handle = form.value({"payload", "subscription", "product", "handle"}).value_or("");
  if (s.product_handle.empty()) {
    return Error::invalid("missing payload[subscription][product][handle]");
  }
  s.email = form.value({"payload", "subscription", "customer", "email"}).value_or("");
  s.first_name = form.value({"payload", "subscription", "customer", "first_name"}).value_or("");
  s.last_name = form.value({"payload", "subscription", "customer", "last_name"}).value_or("");
  return s;
}

}  // namespace wi::chargify
