"""What the acceptance tests share: program step builders and code names."""
from protocol import codes as W
from pumphost import codes as C

ML = 1000000            # nL per mL
ML_H = 1000000          # nL/h per mL/h


def continuous(rate_ml_h, volume_ml, drug_slot=0):
    return (C.K_CONTINUOUS, int(rate_ml_h * ML_H), int(volume_ml * ML), 0, 0, drug_slot)


def bolus(rate_ml_h, volume_ml):
    return (C.K_BOLUS, int(rate_ml_h * ML_H), int(volume_ml * ML), 0, 0, 0)


def syringe_change():
    return (C.K_SYRINGE, 0, 0, 0, 0, 0)


def drug_entry(drug_id, conc_mg_ml, **raise_limit):
    """What a program carries for a drug of the device library (firmware.druglib
    row: id, conc range, 8 limits), at `conc_mg_ml`; `raise_limit` forges one
    limit: index=factor."""
    from firmware.druglib import LIB
    row = next(r for r in LIB if r[0] == drug_id)
    limits = list(row[3:])
    for idx, factor in raise_limit.items():
        i = int(idx.lstrip('l'))
        limits[i] = int(limits[i] * factor)
    return (drug_id, int(round(conc_mg_ml * 1000))) + tuple(limits)


FLOXURIDINE, FLUOROURACIL, HEPARIN, SALINE = 1, 2, 5, 6
IDLE, REVIEW, READY, RUNNING = W.STATE_IDLE, W.STATE_REVIEW, W.STATE_READY, W.STATE_RUNNING
PAUSED, COMPLETE, ALARM, FAULT = W.STATE_PAUSED, W.STATE_COMPLETE, W.STATE_ALARM, W.STATE_FAULT
BOLUS, SYRINGE_CHANGE = W.STATE_BOLUS, W.STATE_SYRINGE_CHANGE


# ------------------------------------------------------------ raw frames
def raw_request(dut, msg_type, fields=None, key=None, counter=None, seq=None, retry=False,
                trailer=None, signed=True):
    """Send one hand-made frame on the DUT's link (forged, replayed, stale or
    repeated: what PumpClient never sends) and return (reply type, fields, wire
    bytes sent, seq). `key`/`counter` sign it (default: the test key and the
    client's next counter); `trailer` resends a captured one; signed=False
    sends no trailer."""
    import time
    from protocol import messages as M
    from protocol.auth import Signer
    from protocol.decoder import Decoder
    from protocol.frame import encode_frame, FLAG_AUTH, FLAG_REPLY, FLAG_RETRY
    from pumphost.client import TEST_KEY
    c = dut.client
    payload = M.pack(msg_type, fields)
    if seq is None:
        c.seq = (c.seq + 1) & 0xFFFF
        seq = c.seq
    flags = 0
    if trailer is None and signed:
        if counter is None:
            counter = last_counter(dut) + 1
        s = Signer(key or c.key or TEST_KEY, counter - 1)
        trailer = s.sign(msg_type, seq, FLAG_AUTH, payload)
        if c.signer is not None and key is None and counter > c.signer.counter:
            c.signer.counter = counter   # the client goes on above it
    if trailer is not None:
        flags |= FLAG_AUTH
    if retry:
        flags |= FLAG_RETRY
    wire = b'\x00' + encode_frame(msg_type, seq, flags, payload, trailer)
    c.port.write(wire)
    dec = Decoder()
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        data = c.port.read(max(1, getattr(c.port, 'in_waiting', 0)))
        for f in dec.feed(data) if data else ():
            if f.flags & FLAG_REPLY and f.seq == seq:
                return f.msg_type, M.unpack(f.msg_type, f.payload), trailer, seq
    raise AssertionError('no reply to a raw %s frame' % M.name(msg_type))


def last_counter(dut):
    """The highest auth counter used so far (device or client)."""
    c = dut.client
    dev = c.hello()['auth_counter']
    return max(dev, c.signer.counter if c.signer is not None else 0)
