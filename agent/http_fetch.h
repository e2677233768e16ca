// http_fetch.h: HTTP(S) GETs the way a web-seed client sends them, through libcurl, with every
// answer treated as untrusted: bounded bodies, bounded time, raw bytes (no decoding).
//
// A batch of requests runs on one curl multi handle: connections are kept alive and reused,
// at most `connections_per_host` at once to one host. Requests carry no Accept-Encoding (like
// libtorrent), so a server that compresses anyway shows in `content_encoding`. Redirects are
// followed (http and https only) up to `max_redirects`. HTTPS always verifies the peer and
// the host name against the system CA store (or `ca_file`); nothing turns that off.
#pragma once

#include <curl/curl.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agent {

struct HttpRequest {
  std::string url;
  // Inclusive byte range for a `Range: bytes=first-last` header; none = a plain GET.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> range;
  std::uint64_t max_body = 16u << 20; // the transfer is cut once the body exceeds this
};

struct HttpResponse {
  bool transport_error = false; // DNS, connect, TLS, protocol: see `error`
  bool timed_out = false;       // the request's or the batch's time ran out
  bool body_cut = false;        // more than max_body bytes came: the rest was not read
  bool not_started = false;     // the batch's time ran out before this request was sent
  std::string error;            // libcurl's text when transport_error or timed_out
  long status = 0;              // HTTP status of the final response; 0 when none
  std::string content_range;    // the final response's Content-Range header, if any
  std::string content_encoding; // its Content-Encoding header, if any
  std::string content_type;     // its Content-Type header, if any
  std::string retry_after;      // its Retry-After header, if any (http_headers.h parses it)
  std::string effective_url;    // where the last request went (after redirects)
  std::string primary_ip;       // the address of the last connection, when one was tried
  long redirects = 0;
  std::string body; // at most max_body bytes
  double seconds = 0;
};

// A connection cache shared by several batches (libcurl's share interface, connections and
// DNS): kept-alive connections of one batch are reused by the next. For one server and one
// address family (a connection is reused for any request to its host and port); usable from
// several threads (locked), though meant for one at a time (libcurl: sharing connections
// between concurrent threads is not safe). Throws std::runtime_error when
// libcurl cannot make one.
class ConnectionShare {
public:
  ConnectionShare();
  ~ConnectionShare();
  ConnectionShare(const ConnectionShare&) = delete;
  ConnectionShare& operator=(const ConnectionShare&) = delete;
  CURLSH* handle() const { return m_share; }

private:
  CURLSH* m_share = nullptr;
  std::mutex m_locks[CURL_LOCK_DATA_LAST];
  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* self);
  static void unlock(CURL*, curl_lock_data data, void* self);
};

// Which addresses of a host name to connect to.
enum class AddressFamily { any, ipv4, ipv6 };

// "ipv4", "ipv6" ("any" for any): the strings of messages and of the JSON evidence.
std::string_view family_text(AddressFamily family);

struct FetchLimits {
  std::chrono::milliseconds request_timeout{20'000};
  std::chrono::milliseconds batch_timeout{120'000}; // the whole batch
  long connections_per_host = 2;
  long max_redirects = 5;
  std::string ca_file;                       // "" = the system CA store
  std::string user_agent;                    // "" = webseed-agent/VERSION
  AddressFamily family = AddressFamily::any; // only addresses of this family (CURLOPT_IPRESOLVE)
  // Asked before every connection, redirects included; false refuses it (a transport error,
  // "connection refused by policy"). Empty: every address. (The collector's SSRF guard.)
  std::function<bool(const sockaddr& address)> allow_connect;
  // Looked at while the batch runs (at least every 200 ms): true ends it at once, every
  // unfinished request timed_out with error "cancelled". nullptr: never.
  const std::atomic<bool>* cancel = nullptr;
  // Connections kept alive across batches (the collector: one per mirror and round); nullptr:
  // the batch's own, closed when it ends. Connections already open are reused without asking
  // allow_connect again, so one share must serve one policy.
  std::shared_ptr<ConnectionShare> share;
};

// The one policy of every libcurl transfer the agent makes (probe and reports): no signals,
// the whole transfer within `timeout_ms` (connecting within 10 s of it), TLS peer and host
// verification on against the system CA store or `ca_file`. Nothing turns verification off.
void apply_transfer_policy(CURL* easy, long timeout_ms, const std::string& ca_file);

// libcurl's process-wide set-up, once (thread-safe). Throws std::runtime_error on failure.
void curl_global_setup();

// Runs every request (concurrently, within the limits); one response per request, in order.
// Throws std::runtime_error only when libcurl itself cannot be set up.
std::vector<HttpResponse> fetch_all(const std::vector<HttpRequest>& requests,
                                    const FetchLimits& limits);

} // namespace agent
