// Copyright 2026 The Lockstep Authors. Licensed under the Apache License 2.0.

#include "env/signing.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <memory>

#include <fmt/format.h>

#include "core/digest.h"
#include "core/files.h"
#include "core/base64.h"

namespace lockstep::env {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

// The most recent OpenSSL error as text, clearing the queue.
std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof(buffer));
  return buffer;
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, size > 0 ? size_t(size) : 0);
}

// Reads a private key, or failing that a public key, from PEM text.
Result<PkeyPtr> ReadKey(std::string_view pem, bool want_private) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  if (!bio) return Status::Internal("BIO_new_mem_buf failed");
  EVP_PKEY* key =
      want_private
          ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
          : PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) {
    ERR_clear_error();
    return Status::InvalidArgument(fmt::format(
        "not a PEM {} key", want_private ? "private (PKCS#8)" : "public"));
  }
  PkeyPtr owned(key);
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    return Status::InvalidArgument("the key is not an Ed25519 key");
  }
  return owned;
}

Result<std::string> Fingerprint(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int size = i2d_PUBKEY(key, &der);
  if (size <= 0) return Status::Internal("i2d_PUBKEY: " + OpenSslError());
  std::string bytes(reinterpret_cast<char*>(der), size_t(size));
  OPENSSL_free(der);
  return Sha256Of(bytes).ToString();
}

// Creates `path` with `mode`, failing if it exists: the bytes go to a
// private temp file that is hard-linked into place, so the name appears
// with its whole content or not at all, and never replaces a file.
Status WriteNewFile(const std::filesystem::path& path,
                    std::string_view content, mode_t mode) {
  std::filesystem::path folder = path.parent_path();
  if (folder.empty()) folder = ".";
  std::filesystem::path temp = UniqueTempPath(folder, ".keygen");
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoStatus(temp, errno);

  size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      int error = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      return ErrnoStatus(temp, error);
    }
    written += size_t(n);
  }
  bool synced = ::fsync(fd) == 0;
  ::close(fd);

  int link_error = 0;
  if (synced && ::link(temp.c_str(), path.c_str()) != 0) link_error = errno;
  ::unlink(temp.c_str());
  if (!synced) return ErrnoStatus(temp, EIO);
  if (link_error == EEXIST) {
    return Status::AlreadyExists(
        fmt::format("{} exists; not overwriting it", path.string()));
  }
  if (link_error != 0) return ErrnoStatus(path, link_error);
  return FsyncDirectory(folder);
}

}  // namespace

Result<KeyPair> GenerateKeyPair() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return Status::Internal("Ed25519 keygen: " + OpenSslError());

  BioPtr private_bio(BIO_new(BIO_s_mem()));
  BioPtr public_bio(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_PrivateKey(private_bio.get(), key.get(), nullptr,
                                nullptr, 0, nullptr, nullptr) ||
      !PEM_write_bio_PUBKEY(public_bio.get(), key.get())) {
    return Status::Internal("writing PEM: " + OpenSslError());
  }
  return KeyPair{BioContents(private_bio.get()),
                 BioContents(public_bio.get())};
}

Status WriteKeyPair(const KeyPair& keys, const std::string& prefix) {
  std::filesystem::path private_path = prefix + ".key";
  std::filesystem::path public_path = prefix + ".pub";
  for (const auto& path : {private_path, public_path}) {
    std::error_code error;
    if (std::filesystem::exists(path, error)) {
      return Status::AlreadyExists(
          fmt::format("{} exists; not overwriting it", path.string()));
    }
  }
  RETURN_IF_ERROR(WriteNewFile(private_path, keys.private_pem, 0600));
  Status status = WriteNewFile(public_path, keys.public_pem, 0644);
  if (!status.ok()) {
    // Leave no half pair behind.
    std::error_code ignored;
    std::filesystem::remove(private_path, ignored);
  }
  return status;
}

Result<std::string> PublicKeyFingerprint(std::string_view pem) {
  bool is_private = pem.find("PRIVATE KEY") != std::string_view::npos;
  ASSIGN_OR_RETURN(PkeyPtr key, ReadKey(pem, is_private));
  return Fingerprint(key.get());
}

Json Signature::ToJson() const {
  return {{"algorithm", algorithm},
          {"public_key_sha256", public_key_sha256},
          {"signature", Base64Encode(signature)}};
}

Result<Signature> Signature::FromJson(const Json& json) {
  Signature out;
  for (const char* field : {"algorithm", "public_key_sha256", "signature"}) {
    if (!json.is_object() || !json.contains(field) ||
        !json[field].is_string()) {
      return Status::InvalidArgument(
          fmt::format("signature: field '{}' is missing or not a string",
                      field));
    }
  }
  out.algorithm = json["algorithm"].get<std::string>();
  if (out.algorithm != "ed25519") {
    return Status::InvalidArgument(fmt::format(
        "signature: algorithm '{}' is not supported (ed25519 only)",
        out.algorithm));
  }
  out.public_key_sha256 = json["public_key_sha256"].get<std::string>();
  if (!Digest::Parse(out.public_key_sha256).ok()) {
    return Status::InvalidArgument(
        "signature: field 'public_key_sha256' is not sha256:<64 hex>");
  }
  auto raw = Base64Decode(json["signature"].get<std::string>());
  if (!raw || raw->size() != 64) {
    return Status::InvalidArgument(
        "signature: field 'signature' is not 64 bytes of base64");
  }
  out.signature = *raw;
  return out;
}

Result<Signature> Sign(std::string_view bytes, std::string_view private_pem) {
  ASSIGN_OR_RETURN(PkeyPtr key, ReadKey(private_pem, true));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> context(EVP_MD_CTX_new());
  unsigned char raw[64];
  size_t size = sizeof(raw);
  // Ed25519 is one-shot: no digest, the whole message at once.
  if (!context ||
      EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr,
                         key.get()) != 1 ||
      EVP_DigestSign(context.get(), raw, &size,
                     reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size()) != 1) {
    return Status::Internal("Ed25519 sign: " + OpenSslError());
  }
  Signature signature;
  ASSIGN_OR_RETURN(signature.public_key_sha256, Fingerprint(key.get()));
  signature.signature.assign(reinterpret_cast<char*>(raw), size);
  return signature;
}

Status Verify(std::string_view bytes, const Signature& signature,
              std::string_view public_pem) {
  ASSIGN_OR_RETURN(PkeyPtr key, ReadKey(public_pem, false));
  ASSIGN_OR_RETURN(std::string fingerprint, Fingerprint(key.get()));
  if (fingerprint != signature.public_key_sha256) {
    return Status::FailedPrecondition(fmt::format(
        "signed by a different key: the signature names key {}, the given "
        "key is {}",
        signature.public_key_sha256, fingerprint));
  }

  std::unique_ptr<EVP_MD_CTX, MdCtxFree> context(EVP_MD_CTX_new());
  if (!context || EVP_DigestVerifyInit(context.get(), nullptr, nullptr,
                                       nullptr, key.get()) != 1) {
    return Status::Internal("Ed25519 verify: " + OpenSslError());
  }
  int valid = EVP_DigestVerify(
      context.get(),
      reinterpret_cast<const unsigned char*>(signature.signature.data()),
      signature.signature.size(),
      reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  ERR_clear_error();
  if (valid != 1) {
    return Status::DataLoss(
        "the signature does not match the signed bytes: they (or the "
        "signature) were altered");
  }
  return Status::Ok();
}

std::filesystem::path SignaturePathFor(const std::filesystem::path& file) {
  return std::filesystem::path(file.string() + ".sig");
}

Status WriteSignatureFile(const std::filesystem::path& path,
                          const Signature& signature) {
  ASSIGN_OR_RETURN(std::string text, CanonicalJson(signature.ToJson()));
  return WriteFileAtomically(path, text + "\n");
}

Result<Signature> ReadSignatureFile(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  ASSIGN_OR_RETURN(Json json, ParseJson(text, path.string()));
  auto signature = Signature::FromJson(json);
  if (!signature.ok()) {
    return signature.status().WithContext(path.string());
  }
  return signature;
}

}  // namespace lockstep::env
