#include "probe_judge.h"

#include <catch2/catch.hpp>

using agent::AnswerVerdict;
using agent::Code;
using agent::Expectation;
using agent::HttpResponse;
using agent::Severity;

namespace {

const std::string k_url = "http://m.example/experimental/torrent-symlinks/t/a.iso";

// Bytes 100-199 of a 1000-byte file.
Expectation asked(bool span = false)
{
  return Expectation{k_url, 100, 199, 1000, span};
}

// A right answer to asked(): 206, the range, 100 bytes.
HttpResponse good()
{
  HttpResponse r;
  r.status = 206;
  r.content_range = "bytes 100-199/1000";
  r.body = std::string(100, 'x');
  r.effective_url = k_url;
  return r;
}

Code error_code(const AnswerVerdict& v)
{
  REQUIRE(v.error);
  CHECK(v.error->severity == Severity::error);
  CHECK(v.error->message.find(k_url) != std::string::npos);
  CHECK(!v.error->hint.empty());
  return v.error->code;
}

} // namespace

TEST_CASE("judge: a right 206 answer is usable, no finding", "[probe][judge]")
{
  const AnswerVerdict v = agent::judge_answer(asked(), good());
  CHECK(v.usable());
  CHECK(!v.warning);
}

TEST_CASE("judge: a whole small file may come as 200", "[probe][judge]")
{
  HttpResponse r = good();
  r.status = 200;
  r.content_range.clear();
  r.body = std::string(1000, 'x');
  CHECK(agent::judge_answer(Expectation{k_url, 0, 999, 1000, false}, r).usable());
}

TEST_CASE("judge: http-timeout and http-unreachable", "[probe][judge]")
{
  HttpResponse r;
  r.timed_out = true;
  r.error = "Operation timed out after 20000 milliseconds";
  CHECK(error_code(agent::judge_answer(asked(), r)) == Code::http_timeout);
  r = HttpResponse{};
  r.transport_error = true;
  r.error = "Failed to connect to m.example port 80: Connection refused";
  const AnswerVerdict v = agent::judge_answer(asked(), r);
  CHECK(error_code(v) == Code::http_unreachable);
  CHECK(v.error->message.find("Connection refused") != std::string::npos);
}

TEST_CASE("judge: http-status names the status, hints per status", "[probe][judge]")
{
  for (const long status : {403L, 404L, 500L, 503L, 416L}) {
    HttpResponse r = good();
    r.status = status;
    const AnswerVerdict v = agent::judge_answer(asked(), r);
    CHECK(error_code(v) == Code::http_status);
    CHECK(v.error->message.find("HTTP " + std::to_string(status)) != std::string::npos);
  }
  HttpResponse r = good();
  r.status = 403;
  CHECK(agent::judge_answer(asked(), r).error->hint.find("FollowSymLinks") != std::string::npos);
}

TEST_CASE("judge: http-range-ignored for 200 with the whole file and a wrong Content-Range",
          "[probe][judge]")
{
  HttpResponse r = good();
  r.status = 200;
  r.body = std::string(1000, 'x');
  CHECK(error_code(agent::judge_answer(asked(), r)) == Code::http_range_ignored);
  r = good();
  r.content_range = "bytes 0-99/1000";
  CHECK(error_code(agent::judge_answer(asked(), r)) == Code::http_range_ignored);
  r.content_range = "garbage";
  CHECK(error_code(agent::judge_answer(asked(), r)) == Code::http_range_ignored);
}

TEST_CASE("judge: http-content-encoding when the server compresses anyway", "[probe][judge]")
{
  HttpResponse r = good();
  r.content_encoding = "gzip";
  CHECK(error_code(agent::judge_answer(asked(), r)) == Code::http_content_encoding);
  r.content_encoding = "identity";
  CHECK(agent::judge_answer(asked(), r).usable());
}

TEST_CASE("judge: http-content-mismatch for a short or cut body and for other bytes",
          "[probe][judge]")
{
  HttpResponse r = good();
  r.body.resize(60);
  const AnswerVerdict v = agent::judge_answer(asked(), r);
  CHECK(error_code(v) == Code::http_content_mismatch);
  CHECK(v.error->message.find("returned 60 bytes instead of 100") != std::string::npos);
  r = good();
  r.body_cut = true;
  CHECK(error_code(agent::judge_answer(asked(), r)) == Code::http_content_mismatch);

  const std::string local(100, 'x');
  CHECK(!agent::judge_local_bytes(asked(), local, local));
  std::string other = local;
  other[42] = 'y';
  const auto p = agent::judge_local_bytes(asked(), other, local);
  REQUIRE(p);
  CHECK(p->code == Code::http_content_mismatch);
  CHECK(p->message.find("from byte 142") != std::string::npos); // offset in the file
  const auto html = agent::judge_local_bytes(asked(), "<!DOCTYPE html><html>" + local, local);
  REQUIRE(html);
  CHECK(html->hint.find("HTML page") != std::string::npos);
}

TEST_CASE("judge: http-redirect is a warning to the same file, an error otherwise",
          "[probe][judge]")
{
  HttpResponse r = good();
  r.redirects = 1;
  r.effective_url = "http://other.example/pub/t/a.iso";
  AnswerVerdict v = agent::judge_answer(asked(), r);
  CHECK(v.usable());
  REQUIRE(v.warning);
  CHECK(v.warning->code == Code::http_redirect);
  CHECK(v.warning->severity == Severity::warning);

  // another file name: clients would fetch the wrong file
  r.effective_url = "http://other.example/pub/t/b.iso";
  v = agent::judge_answer(asked(), r);
  CHECK(error_code(v) == Code::http_redirect);
  CHECK(v.error->clients == agent::ClientSet::all()); // every client fetches the wrong file

  // pieces that span files: libtorrent alone cannot follow it
  r.effective_url = "http://other.example/pub/t/a.iso";
  v = agent::judge_answer(asked(true), r);
  CHECK(error_code(v) == Code::http_redirect);
  REQUIRE(v.error->clients);
  CHECK(*v.error->clients == agent::ClientSet{agent::ClientFamily::libtorrent});
}

TEST_CASE("judge: pad files must be served as zeros", "[probe][judge][pad]")
{
  const Expectation pad{"http://m.example/experimental/torrent-symlinks/t/.pad/100", 0, 99, 100,
                        false};
  HttpResponse r;
  r.status = 206;
  r.content_range = "bytes 0-99/100";
  r.body = std::string(100, '\0');
  CHECK(!agent::judge_pad_answer(pad, r));

  r.body[7] = 'x';
  auto p = agent::judge_pad_answer(pad, r);
  REQUIRE(p);
  CHECK(p->code == Code::pad_files_not_served);
  CHECK(p->severity == Severity::warning);
  CHECK(p->message.find("not as zeros") != std::string::npos);

  HttpResponse missing;
  missing.status = 404;
  p = agent::judge_pad_answer(pad, missing);
  REQUIRE(p);
  CHECK(p->code == Code::pad_files_not_served);
  CHECK(p->message.find("HTTP 404") != std::string::npos);
  CHECK(p->message.find(".pad/100") != std::string::npos);
  CHECK(p->hint.find(".pad/N") != std::string::npos);
}

TEST_CASE("judge: throttling answers and the http-throttled warning", "[probe][judge]")
{
  HttpResponse r;
  r.status = 503;
  CHECK(agent::is_throttled(r));
  r.status = 429;
  CHECK(agent::is_throttled(r));
  r.status = 500;
  CHECK(!agent::is_throttled(r));
  r.status = 503;
  r.transport_error = true;
  CHECK(!agent::is_throttled(r));

  agent::ThrottleFacts f;
  f.url = k_url;
  f.status = 503;
  f.retry_after = "2";
  f.throttled = 3;
  f.requests = 8;
  f.rounds = 1;
  const agent::Problem p = agent::throttled_problem(f);
  CHECK(p.code == Code::http_throttled);
  CHECK(p.severity == Severity::warning);
  CHECK(p.message.find("3 of 8 requests were answered HTTP 503 (Retry-After: 2)") !=
        std::string::npos);
  CHECK(p.message.find("1 retry round, 1 connection") != std::string::npos);
  CHECK(p.hint.find("4 connections") != std::string::npos);

  const agent::Problem lone = agent::single_connection_refused(f);
  CHECK(lone.code == Code::http_status);
  CHECK(lone.severity == Severity::error);
  REQUIRE(lone.clients);
  CHECK(*lone.clients == agent::ClientSet{agent::ClientFamily::libtorrent});
  CHECK(lone.message.find("HTTP 503 (Retry-After: 2)") != std::string::npos);
}

TEST_CASE("judge: a base URL whose host is an IPv6 literal fails libtorrent", "[probe][judge]")
{
  for (const char* url : {"http://[::1]:8080/gentoo/", "https://[2001:db8::1]/",
                          "http://user@[::1]/x"}) {
    auto p = agent::judge_base_url(url);
    REQUIRE(p);
    CHECK(p->code == Code::webseed_url_ipv6_literal);
    CHECK(p->severity == Severity::error);
    CHECK(p->message.find(url) != std::string::npos);
  }
  for (const char* url : {"http://mirror.example/gentoo/", "http://127.0.0.1:80/",
                          "http://six.test:81/a[1]/", "not a url", "http://host/[::1]"}) {
    CHECK_FALSE(agent::judge_base_url(url));
  }
}
