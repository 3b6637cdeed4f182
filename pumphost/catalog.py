"""Words for the device's numeric codes, for host tools, logs and plots.

The tables are generated into pumphost.codes from the one declaration
(firmware/codes.yaml); this module renders a code whatever its value.
"""
from pumphost.codes import ALARM_NAMES, ALARM_PRIORITY, EVENT_NAMES, PRIORITY_NAMES

__all__ = ['ALARM_NAMES', 'ALARM_PRIORITY', 'EVENT_NAMES', 'PRIORITY_NAMES',
           'alarm_name', 'alarm_priority_name', 'event_name']


def alarm_name(code):
    return ALARM_NAMES[code] if 0 <= code < len(ALARM_NAMES) else 'alarm_%d' % code


def alarm_priority_name(code):
    return PRIORITY_NAMES[ALARM_PRIORITY[code]] if 0 <= code < len(ALARM_PRIORITY) else 'unknown'


def event_name(code):
    return EVENT_NAMES.get(code, 'event_%d' % code)
