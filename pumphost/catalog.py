"""Names for the device's numeric codes, for host tools, logs and plots.

The device itself never imports this module (its heap is small); host code
(simulator, pumpctl, tests) uses it to render codes. A test checks that every
code the firmware defines has a name here.
"""
from firmware import alarms as _a
from pumphost import codes

PRIORITY_NAMES = ('none', 'low', 'medium', 'high')

ALARM_NAMES = ('none', 'occlusion_downstream', 'pressure_hard_limit', 'air_in_line',
               'syringe_removed', 'motor_stall', 'pressure_sensor', 'loop_overrun',
               'infusion_complete', 'power_interrupted', 'low_battery', 'air_accumulated',
               'syringe_empty', 'syringe_near_empty', 'over_infusion', 'under_infusion',
               'on_battery', 'battery_critical', 'pressure_sensor_stuck', 'pressure_sensor_drift',
               'link_lost')


def alarm_name(code):
    return ALARM_NAMES[code] if 0 <= code < len(ALARM_NAMES) else 'alarm_%d' % code


def alarm_priority_name(code):
    return PRIORITY_NAMES[_a.ALARM_PRIORITY[code]]


EVENT_NAMES = {codes.EV_BOOT: 'boot', codes.EV_STATE: 'state', codes.EV_ALARM: 'alarm',
               codes.EV_ALARM_ACK: 'alarm_ack', codes.EV_ALARM_ESCALATE: 'alarm_escalated', codes.EV_PROGRAM: 'program',
               codes.EV_CONFIRM: 'confirm', codes.EV_CHECKPOINT: 'checkpoint',
               codes.EV_COMPLETE: 'complete', codes.EV_REJECT: 'reject',
               codes.EV_ALARM_CLEAR: 'alarm_clear', codes.EV_FILL: 'startup_fill',
               codes.EV_RELIEF: 'occlusion_relief',
               codes.EV_CAL_STORED: 'calibration_stored', codes.EV_CAL_APPLIED: 'calibration_applied'}

# program events (firmware/program.py owns 50..59)
EVENT_NAMES[codes.EV_OVERRIDE] = 'soft_limit_override'
EVENT_NAMES[codes.EV_SYRINGE_CHANGED] = 'syringe_changed'
EVENT_NAMES[codes.EV_POWER_RECOVERED] = 'power_recovered'
