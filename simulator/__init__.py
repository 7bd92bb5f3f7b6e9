"""MIA device simulator: the mobile app and its SDK, simulated.

ca = PlatformCA.load_or_create(directory)
device = Device(issuer, platform_ca=ca, app=AppBuild.genuine())
device.register_app(); device.enroll(qr=png, pin="24680"); device.login(pin="24680")
"""

from simulator.device import (
    DEFAULT,
    REMOVE,
    ApiResponse,
    Device,
    TokenSet,
)
from simulator.errors import (
    DeviceStateError,
    InvalidQrCode,
    PinMismatch,
    PinPolicyViolation,
    ServerError,
    SimulatorError,
    TransportError,
)
from simulator.keystore import Keystore
from simulator.platform import GENUINE_SIGNING_CERTIFICATE_SHA256, AppBuild, PlatformCA
from simulator.screens import Screen, screen_for_error
from simulator.storage import AppStorage
from simulator.transport import HttpResponse, HttpTransport, Transport, WsgiTransport

__all__ = [
    "DEFAULT",
    "GENUINE_SIGNING_CERTIFICATE_SHA256",
    "REMOVE",
    "ApiResponse",
    "AppBuild",
    "AppStorage",
    "Device",
    "DeviceStateError",
    "HttpResponse",
    "HttpTransport",
    "InvalidQrCode",
    "Keystore",
    "PinMismatch",
    "PinPolicyViolation",
    "PlatformCA",
    "Screen",
    "ServerError",
    "SimulatorError",
    "TokenSet",
    "Transport",
    "TransportError",
    "WsgiTransport",
    "screen_for_error",
]
