#!/usr/bin/python3
"""An RTSP server for the IP camera tests: GStreamer's own RTSP server (Debian's
gir1.2-gst-rtsp-server-1.0) with Digest authentication, serving a moving test pattern as
MJPEG (/mjpeg, RTP/JPEG) and as H.264 (/h264, a keyframe every second), a plain red picture
as H.264 (/h264red), H.264 with a keyframe only every 60 s (/h264longgop), and as H.265 the
test pattern (/h265) and the red picture (/h265red), a keyframe every second, and H.265 with a
keyframe only every 60 s (/h265longgop).
Prints "READY" once it listens, then one line per client event: "TEARDOWN <path>" when a
client sends TEARDOWN, "CLOSED" when a client's connection closes.

Usage: rtsp_server.py PORT USER PASSWORD [WIDTHxHEIGHT]   (default 320x240)
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

port, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
Gst.init(None)
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)

auth = GstRtspServer.RTSPAuth()
token = GstRtspServer.RTSPToken()
token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
auth.add_digest(user, password, token)
auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
server.set_auth(auth)

width, height = (sys.argv[4] if len(sys.argv) > 4 else "320x240").split("x")
caps = f"video/x-raw,format=I420,width={width},height={height},framerate=10/1"
source = f"videotestsrc is-live=true pattern=ball ! {caps}"
red = f"videotestsrc is-live=true pattern=red ! {caps}"
x264 = "x264enc tune=zerolatency speed-preset=ultrafast"
x265 = "x265enc tune=zerolatency speed-preset=ultrafast"
streams = {
    "/mjpeg": f"( {source} ! jpegenc quality=80 ! rtpjpegpay name=pay0 pt=26 )",
    "/h264": f"( {source} ! {x264} key-int-max=10 ! rtph264pay name=pay0 pt=96 )",
    "/h264red": f"( {red} ! {x264} key-int-max=10 ! rtph264pay name=pay0 pt=96 )",
    "/h264longgop": f"( {source} ! {x264} key-int-max=600 ! rtph264pay name=pay0 pt=96 )",
    "/h265": f"( {source} ! {x265} key-int-max=10 ! rtph265pay name=pay0 pt=96 )",
    "/h265red": f"( {red} ! {x265} key-int-max=10 ! rtph265pay name=pay0 pt=96 )",
    "/h265longgop": f"( {source} ! {x265} key-int-max=600 ! rtph265pay name=pay0 pt=96 )",
}
mounts = server.get_mount_points()
for path, launch in streams.items():
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(True)
    factory.add_role_from_structure(
        Gst.Structure.from_string(
            "viewer, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
        )[0]
    )
    mounts.add_factory(path, factory)


def on_teardown(client, ctx):
    print("TEARDOWN %s" % ctx.uri.abspath, flush=True)


def on_client(server, client):
    client.connect("teardown-request", on_teardown)
    client.connect("closed", lambda c: print("CLOSED", flush=True))


server.connect("client-connected", on_client)
server.attach(None)
print("READY", flush=True)
GLib.MainLoop().run()
