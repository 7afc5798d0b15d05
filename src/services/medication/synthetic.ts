export const medicationHistory = () => [];
