// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "registry/tls_files.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "core/files.h"

namespace lockstep::registry {
namespace {

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using Certificate = std::unique_ptr<X509, decltype(&X509_free)>;
using PrivateKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

Bio MemoryBio(const std::string& bytes) {
  return Bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())),
             &BIO_free);
}

// An encrypted key would make OpenSSL ask for a passphrase on the
// terminal of a server; refusing it is the answer wanted.
int NoPassphrase(char*, int, int, void*) { return -1; }

Result<Certificate> ReadCertificate(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  Bio bio = MemoryBio(bytes);
  Certificate cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr),
                   &X509_free);
  ERR_clear_error();
  if (!cert) {
    return Status::InvalidArgument(
        path.string() + ": not a PEM certificate (want a file that "
        "starts with -----BEGIN CERTIFICATE-----)");
  }
  return cert;
}

Result<PrivateKey> ReadPrivateKey(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  Bio bio = MemoryBio(bytes);
  PrivateKey key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, &NoPassphrase, nullptr),
      &EVP_PKEY_free);
  ERR_clear_error();
  if (!key) {
    bool encrypted = bytes.find("ENCRYPTED") != std::string::npos;
    return Status::InvalidArgument(
        path.string() +
        (encrypted ? ": an encrypted private key; the server cannot ask "
                     "for its passphrase (openssl pkey -in KEY -out "
                     "PLAIN.key writes it unencrypted)"
                   : ": not a PEM private key (want a file that starts "
                     "with -----BEGIN PRIVATE KEY----- or similar)"));
  }
  return key;
}

}  // namespace

Status CheckTlsFiles(const std::filesystem::path& cert,
                     const std::filesystem::path& key) {
  ASSIGN_OR_RETURN(Certificate certificate, ReadCertificate(cert));
  ASSIGN_OR_RETURN(PrivateKey private_key, ReadPrivateKey(key));
  bool matches = X509_check_private_key(certificate.get(),
                                        private_key.get()) == 1;
  ERR_clear_error();
  if (!matches) {
    return Status::InvalidArgument(
        key.string() + ": this private key does not belong to the "
        "certificate in " + cert.string());
  }
  return Status::Ok();
}

}  // namespace lockstep::registry
