// version.h: the agent's version, set by the Makefile (WEBSEED_AGENT_VERSION).
#pragma once

#ifndef WEBSEED_AGENT_VERSION
#define WEBSEED_AGENT_VERSION "0.0.0-dev"
#endif

namespace agent {
inline constexpr const char* k_version = WEBSEED_AGENT_VERSION;
}
