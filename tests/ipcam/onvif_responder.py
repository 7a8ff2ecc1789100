#!/usr/bin/python3
"""A small ONVIF camera for the discovery tests, in the Python standard library only.

WS-Discovery on a loopback UDP port (answers a Probe for NetworkVideoTransmitter with a
ProbeMatch that relates to it), and the device and media services over HTTP on another
port: GetCapabilities, GetDeviceInformation, GetProfiles, GetStreamUri, GetSnapshotUri. Every
SOAP call must carry a WS-Security UsernameToken whose PasswordDigest is
Base64(SHA-1(nonce + created + password)) and whose Created is within 5 minutes of the
camera's clock, as cameras check; otherwise the answer is the ONVIF NotAuthorized fault (HTTP
400), as the spec has it. GetSystemDateAndTime answers without authentication (the spec).

Usage: onvif_responder.py USER PASSWORD [--malformed CALL] [--clock-skew SECONDS]
  --malformed CALL       answer CALL (e.g. GetProfiles) with XML cut off in the middle
  --clock-skew SECONDS   the camera's clock is this far ahead of the host's (negative: behind)
Prints "READY <udp port> <http port>" once both listen.
"""
import base64
import datetime
import hashlib
import http.server
import socket
import sys
import threading
import xml.etree.ElementTree as ET

USER, PASSWORD = sys.argv[1], sys.argv[2]
OPTIONS = dict(zip(sys.argv[3::2], sys.argv[4::2]))
MALFORMED = OPTIONS.get("--malformed")
SKEW = datetime.timedelta(seconds=int(OPTIONS.get("--clock-skew", "0")))
MAX_CREATED_OFF = datetime.timedelta(minutes=5)


def camera_now():
    return datetime.datetime.now(datetime.timezone.utc) + SKEW

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "wsu": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",
    "w": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "d": "http://schemas.xmlsoap.org/ws/2005/04/discovery",
}
ENV = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
    'xmlns:trt="http://www.onvif.org/ver10/media/wsdl" '
    'xmlns:tt="http://www.onvif.org/ver10/schema" '
    'xmlns:ter="http://www.onvif.org/ver10/error">'
    "<SOAP-ENV:Body>{}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
)
NOT_AUTHORIZED = ENV.format(
    "<SOAP-ENV:Fault><SOAP-ENV:Code><SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value>"
    "<SOAP-ENV:Subcode><SOAP-ENV:Value>ter:NotAuthorized</SOAP-ENV:Value></SOAP-ENV:Subcode>"
    "</SOAP-ENV:Code><SOAP-ENV:Reason><SOAP-ENV:Text xml:lang=\"en\">Sender not Authorized"
    "</SOAP-ENV:Text></SOAP-ENV:Reason></SOAP-ENV:Fault>"
)

udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
httpd = None  # set below


def base():
    return "http://127.0.0.1:%d" % httpd.server_address[1]


def profiles():
    out = []
    for token, name, enc, w, h in [
        ("Profile_1", "mainStream", "H264", 1920, 1080),
        ("Profile_2", "subStream", "JPEG", 640, 360),
    ]:
        out.append(
            '<trt:Profiles token="%s" fixed="true"><tt:Name>%s</tt:Name>'
            '<tt:VideoEncoderConfiguration token="VE_%s"><tt:Name>VE</tt:Name>'
            "<tt:Encoding>%s</tt:Encoding><tt:Resolution><tt:Width>%d</tt:Width>"
            "<tt:Height>%d</tt:Height></tt:Resolution></tt:VideoEncoderConfiguration>"
            "</trt:Profiles>" % (token, name, token, enc, w, h)
        )
    return "".join(out)


CHANNEL = {"Profile_1": "101", "Profile_2": "102"}


def answer(call, body):
    if call == "GetSystemDateAndTime":
        t = camera_now()
        return (
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
            "<tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false"
            "</tt:DaylightSavings><tt:UTCDateTime><tt:Time><tt:Hour>%d</tt:Hour>"
            "<tt:Minute>%d</tt:Minute><tt:Second>%d</tt:Second></tt:Time><tt:Date>"
            "<tt:Year>%d</tt:Year><tt:Month>%d</tt:Month><tt:Day>%d</tt:Day></tt:Date>"
            "</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
            % (t.hour, t.minute, t.second, t.year, t.month, t.day)
        )
    if call == "GetCapabilities":
        return (
            "<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Media>"
            "<tt:XAddr>%s/onvif/Media</tt:XAddr></tt:Media></tds:Capabilities>"
            "</tds:GetCapabilitiesResponse>" % base()
        )
    if call == "GetDeviceInformation":
        return (
            "<tds:GetDeviceInformationResponse><tds:Manufacturer>HIKVISION</tds:Manufacturer>"
            "<tds:Model>DS-2CD1023G0E-I</tds:Model><tds:FirmwareVersion>V5.7.3 build 220112"
            "</tds:FirmwareVersion><tds:SerialNumber>DS-2CD1023G0E-I20220101AAWRJ12345678"
            "</tds:SerialNumber><tds:HardwareId>88</tds:HardwareId>"
            "</tds:GetDeviceInformationResponse>"
        )
    if call == "GetProfiles":
        return "<trt:GetProfilesResponse>%s</trt:GetProfilesResponse>" % profiles()
    token = body.findtext(".//{http://www.onvif.org/ver10/media/wsdl}ProfileToken")
    if token not in CHANNEL:
        return None
    if call == "GetStreamUri":
        # As cameras do: the stream URL with the camera's user name in it (never printed).
        return (
            "<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>"
            "rtsp://admin@127.0.0.1:554/Streaming/Channels/%s</tt:Uri>"
            "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect></trt:MediaUri>"
            "</trt:GetStreamUriResponse>" % CHANNEL[token]
        )
    if call == "GetSnapshotUri":
        return (
            "<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri>"
            "%s/ISAPI/Streaming/channels/%s/picture</tt:Uri></trt:MediaUri>"
            "</trt:GetSnapshotUriResponse>" % (base(), CHANNEL[token])
        )
    return None


def authorized(env):
    tok = env.find("s:Header/wsse:Security/wsse:UsernameToken", NS)
    if tok is None:
        return False
    user = tok.findtext("wsse:Username", namespaces=NS)
    digest = tok.findtext("wsse:Password", namespaces=NS)
    nonce = tok.findtext("wsse:Nonce", namespaces=NS)
    created = tok.findtext("wsu:Created", namespaces=NS)
    if None in (user, digest, nonce, created):
        return False
    want = base64.b64encode(
        hashlib.sha1(base64.b64decode(nonce) + created.encode() + PASSWORD.encode()).digest()
    ).decode()
    try:
        at = datetime.datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return False
    return user == USER and digest == want and abs(at - camera_now()) <= MAX_CREATED_OFF


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        env = ET.fromstring(self.rfile.read(n))
        body = env.find("s:Body", NS)
        call = body[0].tag.split("}")[1] if len(body) else ""
        if call != "GetSystemDateAndTime" and not authorized(env):
            return self.reply(400, NOT_AUTHORIZED)
        if MALFORMED == call:
            return self.reply(200, ENV.format(answer(call, body))[:300])
        a = answer(call, body)
        if a is None:
            return self.reply(400, ENV.format("<SOAP-ENV:Fault/>"))
        self.reply(200, ENV.format(a))

    def reply(self, status, text):
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=httpd.serve_forever, daemon=True).start()


def discovery():
    while True:
        data, peer = udp.recvfrom(65536)
        try:
            env = ET.fromstring(data)
        except ET.ParseError:
            continue
        if env.find("s:Body/d:Probe", NS) is None:
            continue
        mid = env.findtext("s:Header/w:MessageID", namespaces=NS)
        match = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
            'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
            'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><SOAP-ENV:Header>'
            "<wsa:MessageID>uuid:5d2f2c1e-0000-4000-8000-000000000001</wsa:MessageID>"
            "<wsa:RelatesTo>%s</wsa:RelatesTo>"
            "<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches</wsa:Action>"
            "</SOAP-ENV:Header><SOAP-ENV:Body><d:ProbeMatches><d:ProbeMatch>"
            "<wsa:EndpointReference><wsa:Address>urn:uuid:5d2f2c1e-0000-4000-8000-0000000000aa"
            "</wsa:Address></wsa:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types>"
            "<d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/name/HIKVISION"
            " onvif://www.onvif.org/hardware/DS-2CD1023G0E-I</d:Scopes>"
            "<d:XAddrs>%s/onvif/device_service</d:XAddrs><d:MetadataVersion>10</d:MetadataVersion>"
            "</d:ProbeMatch></d:ProbeMatches></SOAP-ENV:Body></SOAP-ENV:Envelope>"
        ) % (mid, base())
        udp.sendto(match.encode(), peer)


print("READY %d %d" % (udp.getsockname()[1], httpd.server_address[1]), flush=True)
discovery()
