// http_server.h: the collector's HTTP/1.1 server (Boost.Beast on Asio), plain or TLS (the
// certificate and key from the config), on a few threads. Every client is untrusted: headers
// at most 16 KiB, bodies at most `max_body` (413 before reading more when Content-Length says
// so, or as soon as the limit is passed), a deadline on every read and write, keep-alive with
// the same limits per request. At most max_connections at once (more are closed on arrival);
// out of descriptors, accepting pauses (100 ms) instead of spinning. The handler sees whole
// requests and returns whole responses; it runs on the server's threads and must be thread-safe.
//
// Against hostile clients (issue 14): `check_head` sees each request's headers before any body
// byte is read and may answer at once (401 for a POST without a valid token: the body is then
// discarded, never buffered); the bodies buffered at once by all connections are capped
// (`max_buffered_bytes`, 503 with Retry-After beyond); at most `max_connections_per_address`
// connections from one address (more are closed on arrival); the TLS handshake and each
// request's headers must arrive within `first_byte_timeout` (an idle connection is closed then).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace collector {

struct HttpRequest {
  std::string method;                         // "GET", "POST", ...
  std::string target;                         // path and query, as sent
  std::map<std::string, std::string> headers; // lower-case names
  std::string body;
  std::string peer; // "127.0.0.1:PORT"

  std::string header(const std::string& lower_name) const
  {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers; // extra headers
  // A body made piece by piece as the client reads it (`body` is then ignored): each call
  // appends the next piece to its argument and returns false after the last one. Sent
  // chunked (HTTP/1.0: until the close), so one piece at a time is held per connection.
  // Called on the server's threads, one call at a time per response; a throw ends the answer.
  std::function<bool(std::string&)> stream;
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0; // 0: any free one (see HttpServer::port)
  std::string tls_cert;   // PEM files; both empty: plain HTTP
  std::string tls_key;
  std::size_t max_body = 4u << 20;
  unsigned threads = 4;
  std::chrono::seconds io_timeout{30};
  std::size_t max_connections = 4096; // more at once are closed on arrival
  std::size_t max_connections_per_address = 64;
  std::chrono::seconds first_byte_timeout{10}; // handshake, and each request's headers
  std::size_t max_buffered_bytes = 64u << 20;  // request bodies held at once, all connections
};

// Sees a request without its body (HttpRequest::body empty); an answer is sent at once and the
// connection closed; nullopt: read the body and call the Handler.
using HeadCheck = std::function<std::optional<HttpResponse>(const HttpRequest&)>;

class HttpServer {
public:
  // Binds and listens (throws std::runtime_error with a one-line message on failure).
  HttpServer(const ServerOptions& options, Handler handler, HeadCheck check_head = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;
  // Serves until stop() (from another thread or a signal handler thread).
  void run();
  void stop();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace collector
