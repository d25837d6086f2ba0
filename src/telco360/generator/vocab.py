"""The value vocabularies and distributions the generator draws from.

Measured on the real sample extracts (``../shared/data/telco-sample``: 10,000 customers, 20 plans,
100,000 events over 365 days) and written down as shapes and proportions, not copied rows: the
names below are a small vocabulary of the same style, the weights are the measured mixes.
Every string here is JSON- and CSV-safe (no quote, backslash, comma or control character), so the
vectorized writers can quote it without escaping; ``_check_safe`` guards that at import.
"""

from __future__ import annotations

from datetime import date

# --- customers -----------------------------------------------------------------------------------
FIRST_NAMES: tuple[str, ...] = (
    "Ada", "Ahmed", "Amaka", "Amina", "Bola", "Chidi", "Chioma", "Daniel", "Efe", "Emeka", "Fatima", "Funke",
    "Grace", "Hauwa", "Ibrahim", "Ifeoma", "Kemi", "Kunle", "Musa", "Ngozi", "Obinna", "Sade", "Tunde", "Zainab",
)
LAST_NAMES: tuple[str, ...] = (
    "Abubakar", "Adeleke", "Adeyemi", "Afolabi", "Bello", "Danjuma", "Eze", "Ibrahim", "Igwe", "Lawal", "Mensah",
    "Mohammed", "Musa", "Nnamdi", "Obi", "Ogunleye", "Okafor", "Okeke", "Okonkwo", "Olawale", "Owusu", "Sani",
    "Smith", "Uche", "Yusuf",
)
STREETS: tuple[str, ...] = ("Allen Ave", "Awolowo Rd", "Broad St", "Garki St", "Herbert Macaulay Way", "Ikeja Rd",
                            "Lekki Rd", "Market St")
HOUSE_NUMBERS = (1, 300)  # inclusive
STATES: tuple[str, ...] = (
    "Abuja Federal Capital Territory", "Anambra", "Borno", "Delta", "Edo", "Enugu", "Imo", "Kaduna", "Kano",
    "Kwara", "Lagos", "Ogun", "Oyo", "Rivers",
)
# The real extract draws country independently of state (a synthetic quirk kept for realism of shape).
COUNTRIES: tuple[str, ...] = ("Ghana", "Kenya", "Nigeria", "South Africa", "United Kingdom", "United States")
GENDERS: tuple[str, ...] = ("F", "M")
CHANNELS: tuple[str, ...] = ("call_center", "mobile_app", "partner_onboarding", "web")
STATUSES: tuple[str, ...] = ("active", "suspended", "cancelled")
STATUS_WEIGHTS: tuple[float, ...] = (0.854, 0.096, 0.050)
EMAIL_DOMAIN = "example.com"
BIRTH_DATES = (date(1955, 1, 1), date(2003, 12, 31))
FIRST_REGISTRATION = date(2018, 1, 1)

# Phones: 80% Nigerian mobiles (+234 then 7/8/9 then 9 digits), the rest an international number
# of 11 or 12 digits.
LOCAL_PHONE_SHARE = 0.8
LOCAL_PREFIX = "+234"
LOCAL_LEADS: tuple[str, ...] = ("7", "8", "9")
LOCAL_LEAD_WEIGHTS: tuple[float, ...] = (0.48, 0.48, 0.04)
FOREIGN_12_DIGIT_SHARE = 0.92

# --- plans ---------------------------------------------------------------------------------------
PLAN_COUNT = 20
PLAN_CATEGORIES: tuple[str, ...] = ("Premium", "Basic", "Ultra", "Business")
PLAN_CATEGORY_WEIGHTS: tuple[float, ...] = (0.5, 0.35, 0.1, 0.05)
PLAN_PRICE_CENTS = (200_000, 3_100_000)  # a monthly price of 2,000.00 to 31,000.00
DATA_ALLOWANCES_GB: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100, 200)
VOICE_MINUTES: tuple[int, ...] = (100, 300, 500, 2000)
SMS_ALLOWANCES: tuple[int, ...] = (50, 100, 500, 1000)
ROAMING_FLAGS: tuple[str, ...] = ("Y", "N")
VALIDITY_DAYS: tuple[int, ...] = (30, 90, 180, 365)
VALIDITY_WEIGHTS: tuple[float, ...] = (0.65, 0.1, 0.05, 0.2)

# --- activity ------------------------------------------------------------------------------------
EVENTS_PER_CUSTOMER_DAY = 0.0274  # 100,000 events / 365 days / 10,000 customers
# event type -> share of events (the real mix, 100,000 events)
EVENT_MIX: dict[str, float] = {
    "login": 0.13753, "data_session": 0.10948, "call_ended": 0.09131, "logout": 0.09081, "sms_sent": 0.09074,
    "call_started": 0.08914, "topup": 0.07333, "balance_check": 0.07284, "app_open": 0.06383,
    "app_click": 0.05441, "purchase_addon": 0.05290, "network_drop": 0.03698, "plan_changed": 0.03670,
}
DEVICE_TYPES: tuple[str, ...] = ("Android", "FeaturePhone", "Web", "iOS")
NETWORK_TYPES: tuple[str, ...] = ("3G", "4G", "5G", "WiFi")
SCREENS: tuple[str, ...] = ("home", "offers", "payments", "profile")
ELEMENTS: tuple[str, ...] = ("cta_buy", "cta_upgrade", "menu_help", "menu_profile")
ADDONS: tuple[str, ...] = ("data_pack", "roaming_pass", "voice_pack")
ADDON_PRICES: tuple[int, ...] = (500, 1000, 1500)
TOPUP_AMOUNTS: tuple[int, ...] = (100, 500, 1000, 2000, 5000)
DROP_REASONS: tuple[str, ...] = ("congestion", "handover_failure", "signal_loss")
MB_USED_CENTS = (1, 200_000)  # 0.01 to 2,000.00 MB
BALANCE_CENTS = (0, 500_000)
CALL_SECONDS = (1, 3600)
SMS_LENGTH = (1, 500)


def _check_safe() -> None:
    unsafe = set('",\\\n\r\t')
    for name, value in list(globals().items()):
        if name.isupper() and isinstance(value, tuple | dict):
            for item in value:
                if isinstance(item, str) and unsafe & set(item):
                    raise ValueError(f"vocabulary {name} holds {item!r}, which the writers would have to escape")


_check_safe()
