"""The app's screen model: every screen the simulated app can show, with its user-facing text.

Flows walk through these screens (`Device.screen`, `Device.screen_history`); every server error is
shown on the screen its catalogue entry names (`reference.core.errors.CATALOGUE[code].app_screen`),
so server, simulator and conformance suite share one error catalogue (spec chapter 10).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from reference.core.errors import CATALOGUE


@dataclass(frozen=True)
class ScreenText:
    title: str
    text: str
    action: str | None = None


class Screen(Enum):
    """Screen identifiers; the error screens' values equal the catalogue's `app_screen` values."""

    WELCOME = "welcome"
    REGISTER_APP = "register_app"
    SCAN_QR = "scan_qr"
    CHOOSE_PIN = "choose_pin"
    CONFIRM_PIN = "confirm_pin"
    ENABLE_BIOMETRICS = "enable_biometrics"
    ENROLLED = "enrolled"
    PIN_LOGIN = "pin_login"
    HOME = "home"
    ACCOUNTS = "accounts"
    LOGGED_OUT = "logged_out"
    # Error screens named by the server error catalogue.
    ERROR_GENERIC = "error_generic"
    ERROR_REREGISTER_APP = "error_reregister_app"
    ERROR_SESSION_EXPIRED = "error_session_expired"
    ERROR_APP_INTEGRITY = "error_app_integrity"
    ERROR_DEVICE_INTEGRITY = "error_device_integrity"
    ERROR_APP_UPDATE_REQUIRED = "error_app_update_required"
    ERROR_OS_UPDATE_REQUIRED = "error_os_update_required"
    ERROR_ENROLLMENT_CODE = "error_enrollment_code"
    ERROR_PIN_INCORRECT = "error_pin_incorrect"
    ERROR_LOCKED_REENROLL = "error_locked_reenroll"
    ERROR_TRY_LATER = "error_try_later"
    # Error screens raised by the app itself, before anything reaches the server.
    ERROR_PIN_POLICY = "error_pin_policy"
    ERROR_PIN_MISMATCH = "error_pin_mismatch"
    ERROR_INVALID_QR = "error_invalid_qr"
    ERROR_NO_CONNECTION = "error_no_connection"

    @property
    def is_error(self) -> bool:
        return self.value.startswith("error_")

    @property
    def title(self) -> str:
        return SCREEN_TEXTS[self].title

    @property
    def text(self) -> str:
        return SCREEN_TEXTS[self].text

    @property
    def action(self) -> str | None:
        return SCREEN_TEXTS[self].action


SCREEN_TEXTS: dict[Screen, ScreenText] = {
    Screen.WELCOME: ScreenText(
        "Welcome to Example Bank", "Sign in securely with your phone.", "Get started"
    ),
    Screen.REGISTER_APP: ScreenText(
        "Securing your app", "We are checking that this app and phone can be trusted."
    ),
    Screen.SCAN_QR: ScreenText(
        "Scan the QR code",
        "Open Example Bank on your computer, choose 'Add a device' and scan the code shown.",
        "Scan",
    ),
    Screen.CHOOSE_PIN: ScreenText(
        "Choose a PIN", "Choose a PIN you do not use elsewhere. Avoid sequences and repeats."
    ),
    Screen.CONFIRM_PIN: ScreenText("Confirm your PIN", "Enter the same PIN again."),
    Screen.ENABLE_BIOMETRICS: ScreenText(
        "Use fingerprint or face?",
        "Log in with your fingerprint or face instead of your PIN. (Not available yet.)",
        "Not now",
    ),
    Screen.ENROLLED: ScreenText(
        "Your phone is ready", "You can now log in to Example Bank with your PIN.", "Continue"
    ),
    Screen.PIN_LOGIN: ScreenText("Enter your PIN", "Enter your PIN to log in."),
    Screen.HOME: ScreenText("Home", "You are logged in."),
    Screen.ACCOUNTS: ScreenText("Your accounts", "An overview of your accounts."),
    Screen.LOGGED_OUT: ScreenText("Logged out", "You have been logged out safely.", "Log in"),
    Screen.ERROR_GENERIC: ScreenText(
        "Something went wrong", "The request could not be completed. Please try again.", "OK"
    ),
    Screen.ERROR_REREGISTER_APP: ScreenText(
        "Set up the app again",
        "This app installation is no longer recognised. Please set up the app again.",
        "Set up again",
    ),
    Screen.ERROR_SESSION_EXPIRED: ScreenText(
        "Session expired", "Your session has expired. Please log in again.", "Log in"
    ),
    Screen.ERROR_APP_INTEGRITY: ScreenText(
        "App cannot be trusted",
        "This copy of the app is not genuine. Install Example Bank from the official app store.",
        "Open the app store",
    ),
    Screen.ERROR_DEVICE_INTEGRITY: ScreenText(
        "Phone cannot be trusted",
        "For your security the app does not run on rooted, jailbroken or emulated phones.",
        "OK",
    ),
    Screen.ERROR_APP_UPDATE_REQUIRED: ScreenText(
        "Update required",
        "This version of the app is no longer supported. Please update to continue.",
        "Update",
    ),
    Screen.ERROR_OS_UPDATE_REQUIRED: ScreenText(
        "Update your phone",
        "Your phone's operating system is too old. Please install the latest system update.",
        "OK",
    ),
    Screen.ERROR_ENROLLMENT_CODE: ScreenText(
        "QR code not valid",
        "This QR code has expired or was already used. Ask for a new code on the website.",
        "Scan again",
    ),
    Screen.ERROR_PIN_INCORRECT: ScreenText(
        "Wrong PIN", "The PIN is not correct. Please try again.", "Try again"
    ),
    Screen.ERROR_LOCKED_REENROLL: ScreenText(
        "Too many wrong PINs",
        "For your security this phone was removed from your account. Add it again from the "
        "website.",
        "Add device",
    ),
    Screen.ERROR_TRY_LATER: ScreenText(
        "Please try later", "The service is busy or unavailable. Please try again later.", "OK"
    ),
    Screen.ERROR_PIN_POLICY: ScreenText(
        "Choose another PIN", "This PIN is not allowed.", "Choose again"
    ),
    Screen.ERROR_PIN_MISMATCH: ScreenText(
        "PINs do not match", "The two PINs you entered are different.", "Choose again"
    ),
    Screen.ERROR_INVALID_QR: ScreenText(
        "Not an Example Bank code", "This QR code cannot be used to add a device.", "Scan again"
    ),
    Screen.ERROR_NO_CONNECTION: ScreenText(
        "No connection", "The server cannot be reached. Check your connection.", "Retry"
    ),
}


def screen_for_error(code: str) -> Screen:
    """The error screen the app shows for a server error code (catalogue `app_screen`)."""
    entry = CATALOGUE.get(code)
    if entry is None:
        return Screen.ERROR_GENERIC
    try:
        return Screen(entry.app_screen)
    except ValueError:
        return Screen.ERROR_GENERIC


def describe(screen: Screen, detail: str | None = None) -> str:
    """One plain-words line for CLIs and notebooks: `[title] text (detail)`."""
    line = f"[{screen.title}] {screen.text}"
    return f"{line} ({detail})" if detail else line
