#include "report_send.h"

#include "http_fetch.h"
#include "http_headers.h"
#include "util/fd.h"
#include "util/read_file.h"
#include "util/text.h"
#include "version.h"

#include <curl/curl.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <memory>
#include <random>
#include <sys/stat.h>
#include <thread>

namespace agent {

namespace {

constexpr std::size_t k_max_answer = 64 * 1024; // of the endpoint's body, kept for messages
constexpr std::size_t k_quote = 160;            // of it, quoted in a message

struct Answer {
  std::string body;
  std::string retry_after;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user)
{
  auto* a = static_cast<Answer*>(user);
  const std::size_t n = size * count;
  a->body.append(data, std::min(n, k_max_answer - std::min(k_max_answer, a->body.size())));
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user)
{
  auto* a = static_cast<Answer*>(user);
  const std::size_t n = size * count;
  std::string_view line(data, n);
  constexpr std::string_view name = "retry-after:";
  if (line.size() > name.size() &&
      std::equal(name.begin(), name.end(), line.begin(),
                 [](char x, char y) { return x == std::tolower(static_cast<unsigned char>(y)); })) {
    line.remove_prefix(name.size());
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      line.remove_prefix(1);
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' ')) {
      line.remove_suffix(1);
    }
    a->retry_after.assign(line.substr(0, 128));
  }
  if (line.starts_with("HTTP/")) {
    a->retry_after.clear(); // a new response (after 100 Continue): forget the last one's
  }
  return n;
}

// A short, printable quote of the endpoint's answer (untrusted bytes).
std::string quote(const std::string& body)
{
  std::string q;
  for (const char c : body.substr(0, k_quote)) {
    q += (c >= 0x20 && c < 0x7f) ? c : ' ';
  }
  while (!q.empty() && q.back() == ' ') {
    q.pop_back();
  }
  return q.empty() ? std::string() : ": \"" + q + (body.size() > k_quote ? "...\"" : "\"");
}

std::string status_message(long status, const std::string& body, const std::string& url)
{
  const std::string s = std::to_string(status);
  switch (status) {
  case 401: return s + ": the endpoint rejected this mirror's token (check report.token_file)";
  case 403: return s + ": the endpoint refused this mirror" + quote(body);
  case 404: return s + ": no report endpoint at " + url + " (check report.endpoint)";
  case 400:
  case 422: return s + ": the endpoint rejected the report as invalid" + quote(body);
  case 413: return s + ": the report is larger than the endpoint accepts";
  default: break;
  }
  if (status >= 300 && status < 400) {
    return s + ": the endpoint redirects; set report.endpoint to the final URL";
  }
  return s + ": the endpoint answered HTTP " + s + quote(body);
}

Delivery::Outcome classify(long status)
{
  if (status >= 200 && status < 300) {
    return Delivery::Outcome::delivered;
  }
  if (status >= 500 || status == 429 || status == 408) {
    return Delivery::Outcome::failed;
  }
  if (status == 400 || status == 413 || status == 422) {
    return Delivery::Outcome::rejected;
  }
  return Delivery::Outcome::refused;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// One POST. Returns the status (0 on a transport error, with `error` set).
long post_once(const Endpoint& ep, const std::string& body, const std::string& report_id,
               std::chrono::milliseconds timeout, Answer& answer, std::string& error)
{
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) {
    throw std::runtime_error("libcurl: cannot create a handle");
  }
  CURL* c = curl.get();
  char errbuf[CURL_ERROR_SIZE] = {};
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add = [&](const std::string& h) {
    headers.reset(curl_slist_append(headers.release(), h.c_str()));
  };
  add("Content-Type: application/json");
  add("Authorization: Bearer " + ep.token);
  add("Idempotency-Key: " + report_id);
  add("Accept: application/json");
  add("Expect:"); // no 100-continue round trip
  const std::string user_agent = std::string("webseed-agent/") + k_version;
  const long ms = std::max<long>(1, static_cast<long>(timeout.count()));
  curl_easy_setopt(c, CURLOPT_URL, ep.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, ep.allow_http ? "https,http" : "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, user_agent.c_str());
  apply_transfer_policy(c, ms, ep.ca_file);
  if (!ep.client_cert.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, ep.client_cert.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEY, ep.client_key.c_str());
  }
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &answer);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &answer);
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    return 0;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

} // namespace

std::chrono::milliseconds backoff_delay(int attempt, double random01)
{
  const std::int64_t cap = 60'000;
  const std::int64_t base =
      attempt >= 17 ? cap : std::min<std::int64_t>(cap, 1000LL << std::max(0, attempt - 1));
  const double r = std::clamp(random01, 0.0, 1.0);
  return std::chrono::milliseconds(base / 2 +
                                   static_cast<std::int64_t>(r * static_cast<double>(base / 2)));
}

std::expected<std::string, std::string> read_token_file(const std::string& path)
{
  util::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) {
    return std::unexpected(path + ": cannot open the token file: " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return std::unexpected(path + ": the token file is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return std::unexpected(path + ": the token file is accessible by group or others (mode " +
                           mode + "); refusing to use it: chmod 600 " + path);
  }
  if (st.st_size > 4096) {
    return std::unexpected(path + ": the token file is larger than 4096 bytes");
  }
  char buf[4097];
  const std::size_t n = util::read_at(fd.get(), buf, sizeof buf - 1, 0);
  std::string_view text(buf, n);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  if (text.empty()) {
    return std::unexpected(path + ": the token file is empty");
  }
  for (const char c : text) {
    if (c <= 0x20 || c >= 0x7f) {
      return std::unexpected(path + ": the token must be one line of visible ASCII characters");
    }
  }
  return std::string(text);
}

Delivery deliver_report(const Endpoint& endpoint, const std::string& body,
                        const std::string& report_id,
                        std::chrono::steady_clock::time_point deadline)
{
  curl_global_setup();
  using Clock = std::chrono::steady_clock;
  std::random_device seed;
  std::mt19937_64 random(seed());
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Delivery d;
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      if (d.attempts == 0) {
        d.message = "no time left to send the report";
      }
      return d;
    }
    Answer answer;
    std::string error;
    ++d.attempts;
    d.status = post_once(endpoint, body, report_id, left, answer, error);
    if (d.status == 0) {
      d.outcome = Delivery::Outcome::failed;
      d.message = "cannot reach " + util::to_utf8_lossy(endpoint.url) + ": " + error;
    } else {
      d.outcome = classify(d.status);
      if (d.outcome == Delivery::Outcome::delivered) {
        d.message.clear();
        return d;
      }
      d.message = status_message(d.status, answer.body, util::to_utf8_lossy(endpoint.url));
      if (d.outcome != Delivery::Outcome::failed) {
        return d;
      }
    }
    std::chrono::milliseconds wait = backoff_delay(d.attempts, unit(random));
    if (d.status == 429 || d.status == 503) {
      if (auto asked = parse_retry_after(answer.retry_after, std::time(nullptr))) {
        wait = std::max<std::chrono::milliseconds>(wait, *asked);
      }
    }
    if (Clock::now() + wait >= deadline) {
      d.message += " (gave up after " + std::to_string(d.attempts) +
                   (d.attempts == 1 ? " attempt" : " attempts") + ": report.timeout)";
      return d;
    }
    std::this_thread::sleep_for(wait);
  }
}

} // namespace agent
