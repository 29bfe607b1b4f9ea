//! An integration test: its own libtest harness binary.

#[test]
fn squares_from_outside() {
    assert_eq!(runner_demo::sum_of_squares(10), 385);
}

#[test]
fn prints_are_shown() {
    println!("api: this line reaches the console (--nocapture)");
}
