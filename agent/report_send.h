// report_send.h: delivering one report to the central endpoint: an HTTPS POST through libcurl.
//
// Peer and host verification are always on (no option turns them off); the CA is the system
// store or report.ca_file; a client certificate is sent when configured (mTLS). Headers:
// Authorization: Bearer <token>, Content-Type: application/json, Idempotency-Key:
// <report_id>, User-Agent: webseed-agent/VERSION. Redirects are not followed (a POST must not
// wander): a 3xx says to fix report.endpoint.
//
// Retries, inside the deadline: network errors, 5xx, 408 and 429 are retried with exponential
// backoff and jitter (1 s, 2 s, 4 s ... at most 60 s, each drawn from its upper half), and
// after a 429 or 503 at least as long as Retry-After asks (seconds or an HTTP date) when the
// deadline allows it, else the report waits for a later run. Other 4xx are final and explained. The
// token is never printed or logged; messages quote at most a short, sanitised piece of the answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace agent {

struct Endpoint {
  std::string url;
  bool allow_http = false; // report.allow_insecure_http
  std::string token;       // the bearer token (secret)
  std::string ca_file;     // "" = the system CA store
  std::string client_cert; // "" = none
  std::string client_key;
};

struct Delivery {
  enum class Outcome {
    delivered, // 2xx
    failed,    // network, TLS, 5xx, 429, timeout: keep it and try again later
    refused,   // 401, 403, 404, 3xx...: fix the configuration; keep it and try again later
    rejected,  // 400, 413, 422: the endpoint will never take this report
  };
  Outcome outcome = Outcome::failed;
  long status = 0; // the last HTTP status, 0 when none
  int attempts = 0;
  std::string message; // one line for the admin when not delivered
};

// POSTs `body` until delivered, a final answer, or `deadline`. Never throws for network
// trouble; throws std::runtime_error only when libcurl cannot be set up.
Delivery deliver_report(const Endpoint& endpoint, const std::string& body,
                        const std::string& report_id,
                        std::chrono::steady_clock::time_point deadline);

// The time to wait before retry number `attempt` (1, 2, ...): min(60 s, 2^(attempt-1) s) with
// jitter: drawn from [half, whole] of it; `random01` in [0, 1).
std::chrono::milliseconds backoff_delay(int attempt, double random01);

// Reads the bearer token: a regular file of at most 4 KiB readable by nobody but its owner
// (no group/other permission bits), one line of visible ASCII. Error: "PATH: <why>" (never the
// token itself).
std::expected<std::string, std::string> read_token_file(const std::string& path);

} // namespace agent
