#!/usr/bin/python3
"""A relais client written in Python from docs/PROTOCOL.md and schemas/*.fbs
alone (flatc --python, pyzmq, cryptography), against a real relaisd.

It checks that a non-C++ client can: connect with CURVE, submit a signed
envelope and get Accepted (and the same receipt again on resubmission), be
refused with the documented code for a forged signature, receive the
delivery as another participant, verify it, acknowledge it, and read the
case's status; then seal a batch (one signature over a Merkle root, 4.8),
have it accepted and a forged proof refused, and verify the batch-sealed
deliveries.

usage: python_client_test.py --bin BUILD/bin --python-dir BUILD/generated/python
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib

import flatbuffers
import zmq
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey, Ed25519PublicKey)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

TIMEOUT_MS = 10000


def load_wire(python_dir):
    sys.path.insert(0, python_dir)
    import relais.wire as w  # noqa: E402
    from relais.wire import (Frame, Body, Hello, Submit, Accepted, Rejected,  # noqa
                             Deliver, DeliveryAck, CaseStatusQuery,
                             CaseStatusReply, CaseState, Header, Envelope,
                             CaseEvent, CaseBody, AssistedCase, CaseType,
                             PayloadEncoding, RecipientState, Welcome,
                             AckOutcome, BatchSeal, Bundle, BundledFrame)
    return sys.modules["relais.wire"]


def finish(builder, root, ident):
    builder.Finish(root, file_identifier=ident)
    return bytes(builder.Output())


class Participant:
    """One participant's keys and a DEALER connected with CURVE."""

    def __init__(self, ctx, stack, name, endpoint, broker_public):
        fname = name.replace("/", "_")
        with open(os.path.join(stack, "secrets", fname + ".key.toml"), "rb") as f:
            key = tomllib.load(f)
        self.name = name
        self.key_id = key["signing"]["key_id"]
        self.signing = Ed25519PrivateKey.from_private_bytes(
            bytes.fromhex(key["signing"]["secret"]))
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.curve_serverkey = broker_public.encode()
        self.sock.curve_publickey = key["curve"]["public"].encode()
        self.sock.curve_secretkey = key["curve"]["secret"].encode()
        self.sock.linger = 0
        self.sock.connect(endpoint)

    def send(self, frame):
        self.sock.send(frame)

    def recv_frame(self, w, want):
        """The next Frame whose body type is `want` (others are skipped)."""
        deadline = time.time() + TIMEOUT_MS / 1000
        while time.time() < deadline:
            if not self.sock.poll(int((deadline - time.time()) * 1000) + 1):
                break
            data = self.sock.recv()
            assert data[4:8] == b"RLF1", "frame identifier"
            frame = w.Frame.Frame.GetRootAs(data, 0)
            if frame.BodyType() == want:
                return frame
        raise AssertionError("no frame of type %d" % want)


def body(frame, cls):
    table = frame.Body()
    out = cls()
    out.Init(table.Bytes, table.Pos)
    return out


def byte_vector(obj, name):
    n = getattr(obj, name + "Length")()
    return bytes(getattr(obj, name)(i) for i in range(n))


def build_case_event(w, subject):
    b = flatbuffers.Builder(256)
    s = b.CreateString(subject)
    d = b.CreateString("Aide pour un dossier, remplie au guichet")
    w.AssistedCase.Start(b)
    w.AssistedCase.AddSubject(b, s)
    w.AssistedCase.AddDescription(b, d)
    ac = w.AssistedCase.End(b)
    w.CaseEvent.Start(b)
    w.CaseEvent.AddBodyType(b, w.CaseBody.CaseBody.AssistedCase)
    w.CaseEvent.AddBody(b, ac)
    return finish(b, w.CaseEvent.End(b), b"RLC1")


def build_header(w, sender, recipients, case_id, payload, message_id):
    """The Header, its own buffer (RLH1)."""
    now = int(time.time() * 1000)
    b = flatbuffers.Builder(512)
    mid = b.CreateByteVector(message_id)
    cid = b.CreateString(case_id)
    snd = b.CreateString(sender.name)
    rs = [b.CreateString(r) for r in recipients]
    w.Header.StartRecipientsVector(b, len(rs))
    for r in reversed(rs):
        b.PrependUOffsetTRelative(r)
    rvec = b.EndVector()
    sha = b.CreateByteVector(hashlib.sha256(payload).digest())
    kid = b.CreateString(sender.key_id)
    w.Header.Start(b)
    w.Header.AddVersion(b, 1)
    w.Header.AddMessageId(b, mid)
    w.Header.AddCaseId(b, cid)
    w.Header.AddSender(b, snd)
    w.Header.AddRecipients(b, rvec)
    w.Header.AddCaseType(b, w.CaseType.CaseType.AssistedCase)
    w.Header.AddCreatedAtMs(b, now)
    w.Header.AddExpiresAtMs(b, now + 3600 * 1000)
    w.Header.AddPayloadSha256(b, sha)
    w.Header.AddPayloadEncoding(b, w.PayloadEncoding.PayloadEncoding.CaseEvent)
    w.Header.AddKeyId(b, kid)
    return finish(b, w.Header.End(b), b"RLH1")


def build_envelope(w, sender, recipients, case_id, payload, message_id,
                   forge=False):
    """Header, signed; then the Envelope (RLE1)."""
    header = build_header(w, sender, recipients, case_id, payload, message_id)
    signing_input = b"relais-envelope-v1\x00" + header
    key = Ed25519PrivateKey.generate() if forge else sender.signing
    signature = key.sign(signing_input)

    e = flatbuffers.Builder(len(header) + len(payload) + 256)
    h = e.CreateByteVector(header)
    p = e.CreateByteVector(payload)
    s = e.CreateByteVector(signature)
    w.Envelope.Start(e)
    w.Envelope.AddHeader(e, h)
    w.Envelope.AddPayload(e, p)
    w.Envelope.AddSignature(e, s)
    return finish(e, w.Envelope.End(e), b"RLE1")


# --- Batch seal (docs/PROTOCOL.md 4.8), written from the document ---

def sha256(data):
    return hashlib.sha256(data).digest()


def merkle_levels(header_hashes):
    """RFC 9162's tree: pairs left to right, an odd last node lifted."""
    levels = [[sha256(b"\x00" + h) for h in header_hashes]]
    while len(levels[-1]) > 1:
        below = levels[-1]
        above = [sha256(b"\x01" + below[i] + below[i + 1])
                 for i in range(0, len(below) - 1, 2)]
        if len(below) % 2:
            above.append(below[-1])
        levels.append(above)
    return levels


def merkle_proof(levels, index):
    path = b""
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            path += level[sibling]
        index >>= 1
    return path


def root_from_proof(header_hash, index, count, path):
    """RFC 9162 2.1.3.2; None if the proof cannot belong to such a tree."""
    if index >= count or len(path) % 32:
        return None
    fn, sn, r = index, count - 1, sha256(b"\x00" + header_hash)
    for at in range(0, len(path), 32):
        p = path[at:at + 32]
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = sha256(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def root_signing_input(count, root):
    return b"relais-batch-v1\x00" + count.to_bytes(4, "big") + root


def build_batch(w, sender, recipients, case_prefix, payloads):
    """(message ids, envelopes): one signature for all, each with its proof."""
    ids = [os.urandom(16) for _ in payloads]
    headers = [build_header(w, sender, recipients, "%s-%d" % (case_prefix, i),
                            payload, ids[i])
               for i, payload in enumerate(payloads)]
    levels = merkle_levels([sha256(h) for h in headers])
    root, count = levels[-1][0], len(headers)
    root_signature = sender.signing.sign(root_signing_input(count, root))
    envelopes = []
    for i, (header, payload) in enumerate(zip(headers, payloads)):
        e = flatbuffers.Builder(len(header) + len(payload) + 768)
        h = e.CreateByteVector(header)
        p = e.CreateByteVector(payload)
        rt = e.CreateByteVector(root)
        rs = e.CreateByteVector(root_signature)
        pa = e.CreateByteVector(merkle_proof(levels, i))
        w.BatchSeal.Start(e)
        w.BatchSeal.AddRoot(e, rt)
        w.BatchSeal.AddRootSignature(e, rs)
        w.BatchSeal.AddLeafIndex(e, i)
        w.BatchSeal.AddLeafCount(e, count)
        w.BatchSeal.AddPath(e, pa)
        seal = w.BatchSeal.End(e)
        w.Envelope.Start(e)
        w.Envelope.AddHeader(e, h)
        w.Envelope.AddPayload(e, p)
        w.Envelope.AddBatch(e, seal)
        envelopes.append(finish(e, w.Envelope.End(e), b"RLE1"))
    return ids, envelopes


def verify_envelope(w, envelope, public_key, verified_roots):
    """Section 4.4 or 4.8, whichever seal the envelope has; raises if bad."""
    env = w.Envelope.Envelope.GetRootAs(envelope, 0)
    header = byte_vector(env, "Header")
    key = Ed25519PublicKey.from_public_bytes(public_key)
    signature = byte_vector(env, "Signature")
    if signature:
        key.verify(signature, b"relais-envelope-v1\x00" + header)
        return "signature"
    seal = env.Batch()
    root = byte_vector(seal, "Root")
    got = root_from_proof(sha256(header), seal.LeafIndex(), seal.LeafCount(),
                          byte_vector(seal, "Path"))
    assert got == root, "the proof does not lead to the root"
    root_signature = byte_vector(seal, "RootSignature")
    cached = (public_key, seal.LeafCount(), root, root_signature)
    if cached not in verified_roots:
        key.verify(root_signature, root_signing_input(seal.LeafCount(), root))
        verified_roots.add(cached)
    return "batch"


def frame_of(w, request_id, body_type, build_body):
    b = flatbuffers.Builder(1024)
    offset = build_body(b)
    w.Frame.Start(b)
    w.Frame.AddRequestId(b, request_id)
    w.Frame.AddBodyType(b, body_type)
    w.Frame.AddBody(b, offset)
    return finish(b, w.Frame.End(b), b"RLF1")


def submit_frame(w, request_id, envelope):
    def build(b):
        v = b.CreateByteVector(envelope)
        w.Submit.Start(b)
        w.Submit.AddEnvelope(b, v)
        return w.Submit.End(b)
    return frame_of(w, request_id, w.Body.Body.Submit, build)


def hello_frame(w, participant, window):
    def build(b):
        p = b.CreateString(participant)
        w.Hello.Start(b)
        w.Hello.AddProtocolVersion(b, 1)
        w.Hello.AddParticipant(b, p)
        w.Hello.AddWindow(b, window)
        return w.Hello.End(b)
    return frame_of(w, 7, w.Body.Body.Hello, build)


def ack_frame(w, sequence, message_id):
    def build(b):
        m = b.CreateByteVector(message_id)
        w.DeliveryAck.Start(b)
        w.DeliveryAck.AddSequence(b, sequence)
        w.DeliveryAck.AddMessageId(b, m)
        w.DeliveryAck.AddOutcome(b, w.AckOutcome.AckOutcome.Processed)
        return w.DeliveryAck.End(b)
    return frame_of(w, 8, w.Body.Body.DeliveryAck, build)


def bundle_frame(w, request_id, frames):
    """Several frames in one message (docs/PROTOCOL.md 3.1)."""
    def build(b):
        bundled = []
        for f in frames:
            v = b.CreateByteVector(f)
            w.BundledFrame.Start(b)
            w.BundledFrame.AddFrame(b, v)
            bundled.append(w.BundledFrame.End(b))
        w.Bundle.StartFramesVector(b, len(bundled))
        for o in reversed(bundled):
            b.PrependUOffsetTRelative(o)
        vec = b.EndVector()
        w.Bundle.Start(b)
        w.Bundle.AddFrames(b, vec)
        return w.Bundle.End(b)
    return frame_of(w, request_id, w.Body.Body.Bundle, build)


def unbundle(w, data):
    """The frames one message holds: a Bundle's, or the message itself."""
    assert data[4:8] == b"RLF1", "frame identifier"
    frame = w.Frame.Frame.GetRootAs(data, 0)
    if frame.BodyType() != w.Body.Body.Bundle:
        return [frame]
    bundle = body(frame, w.Bundle.Bundle)
    out = []
    for i in range(bundle.FramesLength()):
        inner = byte_vector(bundle.Frames(i), "Frame")
        assert inner[4:8] == b"RLF1", "bundled frame identifier"
        out.append(w.Frame.Frame.GetRootAs(inner, 0))
    return out


def query_frame(w, request_id, case_id):
    def build(b):
        c = b.CreateString(case_id)
        w.CaseStatusQuery.Start(b)
        w.CaseStatusQuery.AddCaseId(b, c)
        return w.CaseStatusQuery.End(b)
    return frame_of(w, request_id, w.Body.Body.CaseStatusQuery, build)


def run(bin_dir, python_dir):
    w = load_wire(python_dir)
    stack = tempfile.mkdtemp(prefix="relais-pytest-")
    broker = None
    try:
        subprocess.run([os.path.join(bin_dir, "relais"), "provision", "--dir", stack],
                       check=True, stdout=subprocess.DEVNULL)
        log = open(os.path.join(stack, "relaisd.log"), "w")
        broker = subprocess.Popen([os.path.join(bin_dir, "relaisd"), "--config",
                                   os.path.join(stack, "relaisd.toml")],
                                  stdout=log, stderr=log)
        endpoint_file = os.path.join(stack, "relaisd.endpoint")
        for _ in range(200):
            if os.path.exists(endpoint_file) and open(endpoint_file).read().strip():
                break
            time.sleep(0.05)
        endpoint = open(endpoint_file).read().strip()
        with open(os.path.join(stack, "keys", "relais.pub.toml"), "rb") as f:
            broker_public = tomllib.load(f)["curve_public"]

        ctx = zmq.Context()
        desk = Participant(ctx, stack, "france-services/paris-15", endpoint, broker_public)
        caf = Participant(ctx, stack, "caf", endpoint, broker_public)

        # Submit, Accepted, and the same receipt again.
        payload = build_case_event(w, "Changement de situation")
        message_id = os.urandom(16)
        case_id = "c-python-" + message_id.hex()[:8]
        envelope = build_envelope(w, desk, ["caf"], case_id, payload, message_id)
        desk.send(submit_frame(w, 1, envelope))
        acc = body(desk.recv_frame(w, w.Body.Body.Accepted), w.Accepted.Accepted)
        assert byte_vector(acc, "MessageId") == message_id
        assert acc.Sequence() > 0 and not acc.Duplicate()
        desk.send(submit_frame(w, 2, envelope))
        again = body(desk.recv_frame(w, w.Body.Body.Accepted), w.Accepted.Accepted)
        assert again.Duplicate() and again.Sequence() == acc.Sequence()
        print("ok: submit accepted, resubmission gives the same receipt")

        # A forged signature: Rejected 203 BadSignature, with the message id.
        forged_id = os.urandom(16)
        forged = build_envelope(w, desk, ["caf"], case_id + "-f", payload, forged_id,
                                forge=True)
        desk.send(submit_frame(w, 3, forged))
        rej_frame = desk.recv_frame(w, w.Body.Body.Rejected)
        rej = body(rej_frame, w.Rejected.Rejected)
        assert rej.Code() == 203, rej.Code()
        assert rej_frame.RequestId() == 3
        assert byte_vector(rej, "MessageId") == forged_id
        print("ok: forged signature rejected with 203:", rej.Reason().decode())

        # The recipient says Hello, gets the delivery, verifies and acks it.
        caf.send(hello_frame(w, "caf", 8))
        welcome = body(caf.recv_frame(w, w.Body.Body.Welcome), w.Welcome.Welcome)
        assert welcome.Window() == 8
        dl = body(caf.recv_frame(w, w.Body.Body.Deliver), w.Deliver.Deliver)
        delivered = byte_vector(dl, "Envelope")
        assert delivered == envelope, "the envelope exactly as submitted"
        env = w.Envelope.Envelope.GetRootAs(delivered, 0)
        header = byte_vector(env, "Header")
        # The sender's public key, as its keys/<id>.pub.toml gives it.
        with open(os.path.join(stack, "keys", "france-services_paris-15.pub.toml"), "rb") as f:
            desk_public = tomllib.load(f)["signing_keys"][0]["public"]
        assert desk_public == desk.signing.public_key().public_bytes(
            Encoding.Raw, PublicFormat.Raw).hex()
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(desk_public)).verify(
            byte_vector(env, "Signature"), b"relais-envelope-v1\x00" + header)
        caf.send(ack_frame(w, dl.Sequence(), message_id))
        delivered_single = delivered
        print("ok: delivery received, signature verified, acknowledged")

        # The case's status shows caf Delivered.
        for attempt in range(100):
            desk.send(query_frame(w, 100 + attempt, case_id))
            reply = body(desk.recv_frame(w, w.Body.Body.CaseStatusReply),
                         w.CaseStatusReply.CaseStatusReply)
            state_bytes = byte_vector(reply, "State")
            assert state_bytes[4:8] == b"RLS1"
            state = w.CaseState.CaseState.GetRootAs(state_bytes, 0)
            status = state.Recipients(0).State()
            if status == w.RecipientState.RecipientState.Delivered:
                break
            time.sleep(0.05)
        assert status == w.RecipientState.RecipientState.Delivered, status
        assert state.Originator().decode() == "france-services/paris-15"
        print("ok: case status says delivered")

        # A batch of three sealed with one signature: accepted; one with a
        # flipped bit in its proof refused with 210 BadBatchProof.
        payloads = [build_case_event(w, "Dossier %d" % i) for i in range(3)]
        batch_ids, batch = build_batch(w, desk, ["caf"], case_id + "-b", payloads)
        forged_ids, forged_batch = build_batch(w, desk, ["caf"], case_id + "-x",
                                               payloads[:2])
        fb = bytearray(forged_batch[0])
        fenv = w.Envelope.Envelope.GetRootAs(bytes(fb), 0)
        path_at = fenv.Batch()._tab.Vector(fenv.Batch()._tab.Offset(4 + 2 * 4))
        fb[path_at] ^= 0x01
        desk.send(submit_frame(w, 200, bytes(fb)))
        rej_frame = desk.recv_frame(w, w.Body.Body.Rejected)
        rej = body(rej_frame, w.Rejected.Rejected)
        assert rej.Code() == 210, rej.Code()
        assert byte_vector(rej, "MessageId") == forged_ids[0]
        print("ok: forged batch proof rejected with 210:", rej.Reason().decode())
        for i, envelope in enumerate(batch):
            desk.send(submit_frame(w, 300 + i, envelope))
            acc = body(desk.recv_frame(w, w.Body.Body.Accepted),
                       w.Accepted.Accepted)
            assert byte_vector(acc, "MessageId") == batch_ids[i]
        print("ok: a batch of three sealed with one signature accepted")
        verified_roots, got = set(), []
        for _ in batch:
            dl = body(caf.recv_frame(w, w.Body.Body.Deliver), w.Deliver.Deliver)
            delivered = byte_vector(dl, "Envelope")
            assert verify_envelope(w, delivered, bytes.fromhex(desk_public),
                                   verified_roots) == "batch"
            env = w.Envelope.Envelope.GetRootAs(delivered, 0)
            mid = byte_vector(w.Header.Header.GetRootAs(
                byte_vector(env, "Header"), 0), "MessageId")
            got.append(mid)
            caf.send(ack_frame(w, dl.Sequence(), mid))
        assert sorted(got) == sorted(batch_ids), "each message once"
        assert len(verified_roots) == 1, "one root verified for the batch"
        # The single-signed delivery verifies through the same function.
        assert verify_envelope(w, delivered_single, bytes.fromhex(desk_public),
                               verified_roots) == "signature"
        print("ok: batch-sealed deliveries verified: one root signature, "
              "then hashes")

        # Two submits in one Bundle: each answered as if sent alone, under
        # its own request id, whether the answers come bundled or not.
        ids, frames = [], []
        for i in range(2):
            mid = os.urandom(16)
            ids.append(mid)
            frames.append(submit_frame(w, 500 + i, build_envelope(
                w, desk, ["cpam"], case_id + "-u%d" % i, payload, mid)))
        desk.send(bundle_frame(w, 499, frames))
        answers = {}
        deadline = time.time() + TIMEOUT_MS / 1000
        while len(answers) < 2 and time.time() < deadline:
            if not desk.sock.poll(100):
                continue
            for f in unbundle(w, desk.sock.recv()):
                if f.BodyType() == w.Body.Body.Accepted:
                    answers[f.RequestId()] = body(f, w.Accepted.Accepted)
        assert sorted(answers) == [500, 501], sorted(answers)
        for i in range(2):
            assert byte_vector(answers[500 + i], "MessageId") == ids[i]
        print("ok: two submits in one bundle, each accepted under its own "
              "request id")
        desk.sock.close()
        caf.sock.close()
        ctx.term()
        return 0
    finally:
        if broker is not None:
            broker.terminate()
            broker.wait(timeout=10)
        shutil.rmtree(stack, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--python-dir", required=True)
    args = parser.parse_args()
    return run(args.bin, args.python_dir)


if __name__ == "__main__":
    sys.exit(main())
