#include "http_fetch.h"

#include "version.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string_view>

namespace agent {

namespace {

struct EasyDeleter {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
struct MultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using Multi = std::unique_ptr<CURLM, MultiDeleter>;

// One transfer in flight: its handle, where its answer goes, libcurl's error text.
struct Transfer {
  Easy easy;
  HttpResponse* response = nullptr;
  std::uint64_t max_body = 0;
  char error[CURL_ERROR_SIZE] = {};
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user)
{
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  std::string& body = t->response->body;
  if (body.size() + n > t->max_body) {
    body.append(data, static_cast<std::size_t>(t->max_body - body.size()));
    t->response->body_cut = true;
    return 0; // abort: CURLE_WRITE_ERROR
  }
  body.append(data, n);
  return n;
}

bool header_is(std::string_view line, std::string_view name)
{
  if (line.size() <= name.size() || line[name.size()] != ':') {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) {
      return false;
    }
  }
  return true;
}

std::string header_value(std::string_view line, std::size_t name_size)
{
  line.remove_prefix(name_size + 1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
    line.remove_prefix(1);
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' ')) {
    line.remove_suffix(1);
  }
  return std::string(line.substr(0, 1024)); // a header is not trusted with our memory either
}

// Keeps the headers of the last response only (a redirect's headers are replaced).
std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user)
{
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  const std::string_view line(data, n);
  HttpResponse& r = *t->response;
  if (line.starts_with("HTTP/")) {
    r.content_range.clear();
    r.content_encoding.clear();
    r.content_type.clear();
    r.retry_after.clear();
  } else if (header_is(line, "retry-after")) {
    r.retry_after = header_value(line, 11);
  } else if (header_is(line, "content-range")) {
    r.content_range = header_value(line, 13);
  } else if (header_is(line, "content-encoding")) {
    r.content_encoding = header_value(line, 16);
  } else if (header_is(line, "content-type")) {
    r.content_type = header_value(line, 12);
  }
  return n;
}

// CURLOPT_OPENSOCKETFUNCTION when FetchLimits::allow_connect is set.
curl_socket_t open_allowed(void* clientp, curlsocktype, curl_sockaddr* address)
{
  const auto& allow = *static_cast<const std::function<bool(const sockaddr&)>*>(clientp);
  if (!allow(address->addr)) {
    return CURL_SOCKET_BAD;
  }
  return ::socket(address->family, address->socktype, address->protocol);
}

} // namespace

std::string_view family_text(AddressFamily family)
{
  switch (family) {
  case AddressFamily::ipv4: return "ipv4";
  case AddressFamily::ipv6: return "ipv6";
  case AddressFamily::any: break;
  }
  return "any";
}

void apply_transfer_policy(CURL* easy, long timeout_ms, const std::string& ca_file)
{
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 10'000L));
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!ca_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, ca_file.c_str());
  }
}

void curl_global_setup()
{
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      throw std::runtime_error("libcurl: global initialisation failed");
    }
  });
}

ConnectionShare::ConnectionShare()
{
  curl_global_setup();
  m_share = curl_share_init();
  if (m_share == nullptr) {
    throw std::runtime_error("libcurl: cannot create a share handle");
  }
  curl_share_setopt(m_share, CURLSHOPT_LOCKFUNC, &ConnectionShare::lock);
  curl_share_setopt(m_share, CURLSHOPT_UNLOCKFUNC, &ConnectionShare::unlock);
  curl_share_setopt(m_share, CURLSHOPT_USERDATA, this);
  if (curl_share_setopt(m_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
      curl_share_setopt(m_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK) {
    curl_share_cleanup(m_share);
    throw std::runtime_error("libcurl: cannot share connections");
  }
}

ConnectionShare::~ConnectionShare()
{
  curl_share_cleanup(m_share);
}

void ConnectionShare::lock(CURL*, curl_lock_data data, curl_lock_access, void* self)
{
  static_cast<ConnectionShare*>(self)->m_locks[data].lock();
}

void ConnectionShare::unlock(CURL*, curl_lock_data data, void* self)
{
  static_cast<ConnectionShare*>(self)->m_locks[data].unlock();
}

namespace {

Easy make_easy(const HttpRequest& request, Transfer& t, const FetchLimits& limits,
               const std::string& user_agent)
{
  Easy easy(curl_easy_init());
  if (!easy) {
    throw std::runtime_error("libcurl: cannot create a handle");
  }
  CURL* e = easy.get();
  const long timeout_ms = static_cast<long>(limits.request_timeout.count());
  curl_easy_setopt(e, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, limits.max_redirects);
  apply_transfer_policy(e, timeout_ms, limits.ca_file);
  curl_easy_setopt(e, CURLOPT_USERAGENT, user_agent.c_str());
  if (limits.share) {
    curl_easy_setopt(e, CURLOPT_SHARE, limits.share->handle());
  }
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(e, CURLOPT_IPRESOLVE,
                   limits.family == AddressFamily::ipv4   ? CURL_IPRESOLVE_V4
                   : limits.family == AddressFamily::ipv6 ? CURL_IPRESOLVE_V6
                                                          : CURL_IPRESOLVE_WHATEVER);
  if (limits.allow_connect) {
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_allowed);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, &limits.allow_connect);
  }
  if (request.range) {
    const std::string range =
        std::to_string(request.range->first) + "-" + std::to_string(request.range->second);
    curl_easy_setopt(e, CURLOPT_RANGE, range.c_str()); // copied by libcurl
  }
  return easy;
}

void collect(Transfer& t, CURLcode result)
{
  HttpResponse& r = *t.response;
  CURL* e = t.easy.get();
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.status);
  curl_easy_getinfo(e, CURLINFO_REDIRECT_COUNT, &r.redirects);
  char* url = nullptr;
  if (curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url != nullptr) {
    r.effective_url = url;
  }
  curl_easy_getinfo(e, CURLINFO_TOTAL_TIME, &r.seconds);
  char* ip = nullptr;
  if (curl_easy_getinfo(e, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip != nullptr) {
    r.primary_ip = ip;
  }
  if (result == CURLE_OK || (result == CURLE_WRITE_ERROR && r.body_cut)) {
    return;
  }
  r.error = t.error[0] != '\0' ? std::string(t.error) : curl_easy_strerror(result);
  if (result == CURLE_OPERATION_TIMEDOUT) {
    r.timed_out = true;
  } else {
    r.transport_error = true;
  }
}

} // namespace

std::vector<HttpResponse> fetch_all(const std::vector<HttpRequest>& requests,
                                    const FetchLimits& limits)
{
  curl_global_setup();
  std::vector<HttpResponse> responses(requests.size());
  Multi multi(curl_multi_init());
  if (!multi) {
    throw std::runtime_error("libcurl: cannot create a multi handle");
  }
  const long per_host = std::max(1L, limits.connections_per_host);
  curl_multi_setopt(multi.get(), CURLMOPT_MAX_HOST_CONNECTIONS, per_host);
  curl_multi_setopt(multi.get(), CURLMOPT_MAX_TOTAL_CONNECTIONS, per_host);
  const std::string user_agent = limits.user_agent.empty()
                                     ? std::string("webseed-agent/") + std::string(k_version)
                                     : limits.user_agent;

  // In flight at once: per_host transfers (a request's own time starts when it is added).
  std::vector<std::unique_ptr<Transfer>> transfers(requests.size());
  std::size_t next = 0;
  int running = 0;
  const auto deadline = std::chrono::steady_clock::now() + limits.batch_timeout;
  auto start_more = [&] {
    while (next < requests.size() && running < per_host) {
      auto t = std::make_unique<Transfer>();
      t->response = &responses[next];
      t->max_body = requests[next].max_body;
      t->easy = make_easy(requests[next], *t, limits, user_agent);
      curl_multi_add_handle(multi.get(), t->easy.get());
      transfers[next] = std::move(t);
      ++next;
      ++running;
    }
  };
  start_more();
  while (running > 0) {
    int still = 0;
    curl_multi_perform(multi.get(), &still);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi.get(), &queued)) {
      if (msg->msg != CURLMSG_DONE) {
        continue;
      }
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      const CURLcode result = msg->data.result;
      curl_multi_remove_handle(multi.get(), msg->easy_handle);
      collect(*t, result);
      t->easy.reset();
      --running;
    }
    const bool cancelled = limits.cancel != nullptr && limits.cancel->load();
    if (cancelled || std::chrono::steady_clock::now() >= deadline) {
      for (auto& t : transfers) {
        if (t && t->easy) {
          curl_multi_remove_handle(multi.get(), t->easy.get());
          t->response->timed_out = true;
          t->response->error = cancelled ? "cancelled" : "the probe's total time limit ran out";
          t->easy.reset();
        }
      }
      for (; next < requests.size(); ++next) {
        responses[next].not_started = true;
        responses[next].timed_out = true;
        responses[next].error =
            cancelled ? "cancelled" : "not sent: the probe's total time limit ran out";
      }
      break;
    }
    start_more();
    if (running > 0) {
      curl_multi_poll(multi.get(), nullptr, 0, 200, nullptr);
    }
  }
  return responses;
}

} // namespace agent
