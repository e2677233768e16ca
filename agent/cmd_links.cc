#include "cmd_links.h"

#include "error.h"
#include "link_audit.h"
#include "safe_resolve.h"

namespace agent {

ExitCode run_links(const Settings& settings, const LinksOptions& options, std::ostream& out)
{
  auto resolver = Resolver::open(settings.root);
  if (!resolver) {
    throw Fatal(ExitCode::usage, "mirror root " + resolver.error());
  }
  const LinkAudit audit = audit_links(*resolver, settings.root, settings.config.symlinks_dir);
  if (options.json) {
    out << links_json(audit).dump(2) << '\n';
  } else {
    print_links_human(out, audit, options.verbose);
  }
  out.flush();
  return audit.ok() ? ExitCode::ok : ExitCode::findings;
}

} // namespace agent
