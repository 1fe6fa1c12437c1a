"""One way to write a date and a time on every page (the admin's included), with the time zone named.

Times are shown in the practice's time zone (accounts.middleware.PracticeTimeZoneMiddleware); the API always
answers in UTC.
"""

DATE_FORMAT = "j M Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j M Y, H:i T"
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y, H:i T"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
