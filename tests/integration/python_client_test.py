#!/usr/bin/python3
"""A relais client written in Python from docs/PROTOCOL.md and schemas/*.fbs
alone (flatc --python, pyzmq, cryptography), against a real relaisd.

It checks that a non-C++ client can: connect with CURVE, submit a signed
envelope and get Accepted (and the same receipt again on resubmission), be
refused with the documented code for a forged signature, receive the
delivery as another participant, verify it, acknowledge it, and read the
case's status.

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
                             AckOutcome)
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


def build_envelope(w, sender, recipients, case_id, payload, message_id,
                   forge=False):
    """Header (its own buffer, RLH1), signed; then the Envelope (RLE1)."""
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
    header = finish(b, w.Header.End(b), b"RLH1")

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
