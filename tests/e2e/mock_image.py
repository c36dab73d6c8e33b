"""The one image the fake registries of the e2e tests serve: a 17-byte
layer and the empty config, in an OCI image manifest."""
import hashlib
import json

LAYER = b"17 bytes of data\n"


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


MANIFEST = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.empty.v1+json",
               "digest": digest(b"{}"), "size": 2},
    "layers": [{"mediaType": "application/octet-stream",
                "digest": digest(LAYER), "size": len(LAYER)}]}).encode()
