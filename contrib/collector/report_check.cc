#include "report_check.h"

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

namespace collector {

namespace {

constexpr const char* k_schema_text =
#include "report_schema.inc"
    ;

const valijson::Schema& schema()
{
  static const valijson::Schema* parsed = [] {
    static const nlohmann::json doc = nlohmann::json::parse(k_schema_text);
    auto* s = new valijson::Schema;
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(doc);
    parser.populateSchema(adapter, *s);
    return s;
  }();
  return *parsed;
}

// The deepest (first reported) schema error, as "/a/0/b: description".
std::string first_error(valijson::ValidationResults& results)
{
  valijson::ValidationResults::Error e;
  std::string best;
  std::size_t depth = 0;
  while (results.popError(e)) {
    if (best.empty() || e.context.size() > depth) {
      depth = e.context.size();
      std::string where;
      for (const std::string& c : e.context) {
        if (c == "<root>") {
          continue;
        }
        std::string part = c;
        if (part.size() >= 2 && part.front() == '[' && part.back() == ']') {
          part = part.substr(1, part.size() - 2);
        }
        where += "/" + part;
      }
      best = (where.empty() ? "/" : where) + ": " + e.description;
    }
  }
  return best;
}

std::string text_of(const nlohmann::json& j, const char* key)
{
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// nlohmann-json parses recursively: refuse deep nesting before parsing (a report nests 6 deep).
bool nesting_within(std::string_view body, int max_depth)
{
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        return false;
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

} // namespace

std::expected<IngestedReport, ReportProblem>
check_report(std::string_view body, const MirrorRow& mirror, std::string_view idempotency_key)
{
  if (!nesting_within(body, 32)) {
    return std::unexpected(std::string("not a valid report: nested more than 32 levels deep"));
  }
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(body.begin(), body.end());
  } catch (const nlohmann::json::parse_error& e) {
    return std::unexpected("not JSON: byte " + std::to_string(e.byte) + ": " +
                           std::string(e.what()).substr(0, 200));
  } catch (const nlohmann::json::exception& e) { // e.g. a number too large for a double
    return std::unexpected("not JSON: " + std::string(e.what()).substr(0, 200));
  }
  valijson::Validator validator;
  valijson::ValidationResults results;
  try {
    valijson::adapters::NlohmannJsonAdapter adapter(doc);
    if (!validator.validate(schema(), adapter, &results)) {
      return std::unexpected("not a valid report (docs/report.schema.json): " +
                             first_error(results));
    }
  } catch (const std::exception& e) {
    return std::unexpected("not a valid report: " + std::string(e.what()).substr(0, 200));
  }
  IngestedReport r;
  r.report_id = text_of(doc, "report_id");
  r.kind = text_of(doc, "kind");
  r.opted_in = doc["opted_in"].get<bool>();
  r.judged = doc["judged"].get<bool>();
  r.body = std::string(body);
  if (!idempotency_key.empty() && idempotency_key != r.report_id) {
    return std::unexpected("the Idempotency-Key header differs from the report_id");
  }
  if (text_of(doc, "mirror") != mirror.name) {
    return std::unexpected("mirror '" + text_of(doc, "mirror").substr(0, 200) +
                           "' is not the mirror of this token (" + mirror.name + ")");
  }
  if (text_of(doc, "base_url") != mirror.base_url) {
    return std::unexpected("base_url '" + text_of(doc, "base_url").substr(0, 200) +
                           "' is not the one registered for mirror " + mirror.name + " ('" +
                           mirror.base_url + "')");
  }
  if (doc.contains("sync") && doc["sync"].is_object()) {
    r.sync_state = text_of(doc["sync"], "state");
  }
  for (const nlohmann::json& t : doc["torrents"]) {
    TorrentClaim c;
    c.info_hash_v1 = text_of(t, "info_hash_v1");
    c.info_hash_v2 = text_of(t, "info_hash_v2");
    if (c.info_hash_v1.empty() && c.info_hash_v2.empty()) {
      continue; // an invalid .torrent on the mirror: nothing to list
    }
    c.name = text_of(t, "name");
    c.ready = t["ready"].get<bool>();
    c.codes_json = t["codes"].dump();
    if (t.contains("clients") && t["clients"].is_object()) {
      c.clients_json = t["clients"].dump();
    }
    if (!t["problems"].empty()) {
      const nlohmann::json& p = t["problems"][0];
      c.reason = text_of(p, "code") + " " + text_of(p, "path") + ": " + text_of(p, "message");
    }
    r.torrents.push_back(std::move(c));
  }
  return r;
}

} // namespace collector
