// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.
//
// The certificate and key `registry serve --tls-cert/--tls-key` is given,
// checked before the server starts so that a refusal says which file is
// at fault and why (httplib only says that loading failed).

#ifndef LOCKSTEP_REGISTRY_TLS_FILES_H_
#define LOCKSTEP_REGISTRY_TLS_FILES_H_

#include <filesystem>

#include "core/status.h"

namespace lockstep::registry {

// Ok when `cert` holds a PEM certificate (the first of a chain is the
// server's) and `key` an unencrypted PEM private key that belongs to it.
// NotFound naming a file that does not exist; InvalidArgument naming the
// file that is not PEM, or both when the key is another certificate's.
Status CheckTlsFiles(const std::filesystem::path& cert,
                     const std::filesystem::path& key);

}  // namespace lockstep::registry

#endif  // LOCKSTEP_REGISTRY_TLS_FILES_H_
