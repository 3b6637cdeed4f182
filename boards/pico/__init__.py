# The Raspberry Pi Pico bench board (RP2040, stock MicroPython): a HAL on
# `machine` for a TMC2209 stepper driver, an analog pressure transducer, an
# ultrasonic air detector, FRAM, buzzer, LEDs and buttons (docs/bench-bringup.md).
