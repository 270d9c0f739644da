"""Looking into a composed recording as a viewer would: the colour of a part of the picture at a
moment, how loud a tone is in the sound, the streams and chapters ffprobe reports. The synthetic
feeds of ``tests/support/mjr.py`` give each person a colour and a tone of their own, so these tell
who is where and who is heard."""

import re
import subprocess

from peerlearn.services import composer
from tests.conftest import unavailable


def need_media_tools():
    missing = composer.tools_missing()
    if missing:
        unavailable(f"{', '.join(missing)} not installed (apt-get install janus-tools ffmpeg)")


def mean_colour(path, seconds, box):
    """The average (r, g, b) of ``box`` = (x, y, width, height) of the frame at ``seconds``."""
    x, y, width, height = box
    picture = f"crop={width}:{height}:{x}:{y},scale=1:1:flags=area"
    command = ["ffmpeg", "-nostdin", "-loglevel", "error", "-ss", f"{seconds:.3f}", "-i", str(path)]
    command += ["-frames:v", "1", "-vf", picture, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    output = subprocess.run(command, capture_output=True, check=True)  # noqa: S603 - our own arguments
    return tuple(output.stdout[:3])


def near(colour, hex_colour, tolerance=40):
    """Whether ``colour`` is within ``tolerance`` of ``hex_colour`` ("0xRRGGBB") in each channel."""
    value = int(hex_colour, 16)
    expected = ((value >> 16) & 255, (value >> 8) & 255, value & 255)
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=True))


def tone_level(path, frequency):
    """The mean volume (dB) of the sound around ``frequency`` Hz over the whole file."""
    band = f"bandpass=f={frequency}:width_type=h:width=40"
    command = ["ffmpeg", "-nostdin", "-hide_banner", "-i", str(path), "-vn"]
    command += ["-af", f"{band},{band},volumedetect", "-f", "null", "-"]
    output = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603 - our own arguments
    match = re.search(r"mean_volume: (-?[\d.]+|-inf) dB", output.stderr)
    return float(match[1]) if match and match[1] != "-inf" else -200.0


def streams(path):
    """The codec types of the file's streams, e.g. ["video", "audio"]."""
    return [stream["codec_type"] for stream in composer.probe(path)["streams"]]


def duration(path):
    return float(composer.probe(path)["format"]["duration"])


def chapters(path):
    """(start seconds, title) of each chapter."""
    return [
        (round(float(chapter["start_time"]), 2), chapter.get("tags", {}).get("title", ""))
        for chapter in composer.probe(path)["chapters"]
    ]
