import { cardMethod } from '../card';

export default cardMethod('debit_card');
